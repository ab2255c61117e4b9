import { EventSource } from 'eventsource';

export interface SseEvent {
  id: string;
  data: any;
}

export interface SseListener {
  events: SseEvent[];
  ready: Promise<void>;
  close(): void;
}

/** A real EventSource on the gateway's alarm stream (bearer token in the header). */
export function listenToAlarmStream(baseUrl: string, token: string, lastEventId?: string): SseListener {
  const events: SseEvent[] = [];
  const source = new EventSource(`${baseUrl}/api/alarms/stream`, {
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      }),
  });
  const ready = new Promise<void>((resolve, reject) => {
    source.onopen = () => resolve();
    source.onerror = (error) => reject(new Error(`SSE error: ${error.message ?? 'unknown'} (${error.code ?? '-'})`));
  });
  source.onmessage = (message) => events.push({ id: message.lastEventId, data: JSON.parse(message.data) });
  return { events, ready, close: () => source.close() };
}
