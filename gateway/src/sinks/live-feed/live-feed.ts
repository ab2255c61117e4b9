import type { AlarmEvent } from '../../../../rules/src/index.js';
import type { GatewayMetrics } from '../../observability/metrics.js';

/** An alarm event with its gateway-wide increasing cursor (the SSE `id:`). */
export interface FeedItem {
  cursor: number;
  event: AlarmEvent;
}

export type FeedListener = (item: FeedItem) => void;

/**
 * The duty officers' live feed: every alarm event gets the next cursor and is kept in a bounded ring, so
 * a client reconnecting with `Last-Event-ID` receives what it missed (while the ring still holds it).
 */
export interface LiveFeed {
  publish(event: AlarmEvent): void;
  /** Events after `cursor`, oldest first; `truncated` when the ring no longer holds all of them. */
  since(cursor: number): { items: FeedItem[]; truncated: boolean };
  subscribe(listener: FeedListener): () => void;
  readonly lastCursor: number;
  /** How many events the ring holds (`liveFeed.ringSize`). */
  readonly capacity: number;
}

export function createLiveFeed(deps: { ringSize: number; metrics: GatewayMetrics; initialCursor?: number }): LiveFeed {
  const ring: FeedItem[] = [];
  const listeners = new Set<FeedListener>();
  // Starting from the clock (µs) keeps cursors increasing across restarts, so old Last-Event-IDs stay meaningful.
  let cursor = Math.floor(deps.initialCursor ?? 0);
  return {
    publish(event) {
      cursor += 1;
      const item = { cursor, event };
      ring.push(item);
      if (ring.length > deps.ringSize) ring.shift();
      for (const listener of listeners) listener(item);
    },
    since(after) {
      // The ring holds every event after `oldestHeld - 1`; an empty ring (just started) holds none after `cursor`.
      // A cursor below that (e.g. from before a restart) may have missed events, whether or not the ring is empty.
      const oldestHeld = ring[0]?.cursor ?? cursor + 1;
      const truncated = after < oldestHeld - 1;
      return { items: ring.filter((item) => item.cursor > after), truncated };
    },
    subscribe(listener) {
      listeners.add(listener);
      deps.metrics.liveFeedClients.set(listeners.size);
      return () => {
        listeners.delete(listener);
        deps.metrics.liveFeedClients.set(listeners.size);
      };
    },
    get lastCursor() {
      return cursor;
    },
    capacity: deps.ringSize,
  };
}
