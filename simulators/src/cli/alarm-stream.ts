import type { AlarmEventLike } from '../scenario/expectations.js';

export interface AlarmStream {
  readonly events: AlarmEventLike[];
  readonly connected: boolean;
  readonly error: string | null;
  close(): void;
}

/** Follows the gateway's `GET /api/alarms/stream` (SSE) and keeps every alarm event it delivers. */
export function followAlarms(apiUrl: string, token: string, onEvent?: (event: AlarmEventLike) => void): AlarmStream {
  const abort = new AbortController();
  const state = { events: [] as AlarmEventLike[], connected: false, error: null as string | null };
  void (async () => {
    try {
      const response = await fetch(new URL('/api/alarms/stream', apiUrl), {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: abort.signal,
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      state.connected = true;
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          if (/^event: (?!message)/m.test(block)) continue;
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (!data) continue;
          try {
            const event = JSON.parse(data) as AlarmEventLike;
            if (typeof event.type === 'string' && event.type.startsWith('alarm.')) {
              state.events.push(event);
              onEvent?.(event);
            }
          } catch {
            // a heartbeat or a comment
          }
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) state.error = (error as Error).message;
    } finally {
      state.connected = false;
    }
  })();
  return {
    get events() {
      return state.events;
    },
    get connected() {
      return state.connected;
    },
    get error() {
      return state.error;
    },
    close: () => abort.abort(),
  };
}
