import { EventSource } from 'eventsource';

export interface SseEvent {
  id: string;
  data: any;
}

export interface SseListener {
  events: SseEvent[];
  /** Named `gap` events (the gateway says events may have been missed). */
  gaps: any[];
  /** Resolves when the stream opens; rejects if the first connection fails. */
  ready: Promise<void>;
  /** The EventSource's readyState: 0 connecting, 1 open, 2 closed for good. */
  readonly readyState: number;
  close(): void;
}

export interface ListenOptions {
  /** Extra query parameters (e.g. `lastEventId`, `access_token`). */
  query?: Record<string, string>;
}

/** A real EventSource on the gateway's alarm stream (bearer token in the header; Last-Event-ID as a header if given). */
export function listenToAlarmStream(baseUrl: string, token: string | null, lastEventId?: string, options: ListenOptions = {}): SseListener {
  const events: SseEvent[] = [];
  const gaps: any[] = [];
  const query = options.query ? `?${new URLSearchParams(options.query)}` : '';
  const source = new EventSource(`${baseUrl}/api/alarms/stream${query}`, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: {
          ...init.headers,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
      }),
  });
  const ready = new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (error) => reject(new Error(`SSE error: ${error.message ?? 'unknown'} (${error.code ?? '-'})`));
  });
  source.onmessage = (message) => events.push({ id: message.lastEventId, data: JSON.parse(message.data) });
  source.addEventListener('gap', (message) => gaps.push(JSON.parse(message.data)));
  return {
    events,
    gaps,
    ready,
    get readyState() {
      return source.readyState;
    },
    close: () => source.close(),
  };
}
