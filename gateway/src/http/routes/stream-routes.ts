import type { FastifyInstance } from 'fastify';
import type { FeedItem, LiveFeed } from '../../sinks/live-feed/live-feed.js';

/** A live-feed client further behind than this is disconnected; it resumes with Last-Event-ID. */
const MAX_PENDING_PER_CLIENT = 5_000;

/** Why a resuming client may have missed events: the ring overflowed, or its id is not a cursor of this feed. */
export type GapReason = 'ring_overflow' | 'unknown_cursor';

/** Last-Event-ID from the header, or `?lastEventId=` for clients that cannot set it; null when absent. */
function requestedResume(headerValue: string | null, query: unknown): string | null {
  if (headerValue !== null && headerValue !== '') return headerValue;
  const q = query as Record<string, unknown> | null | undefined;
  if (!q || !Object.hasOwn(q, 'lastEventId')) return null;
  return typeof q.lastEventId === 'string' && q.lastEventId !== '' ? q.lastEventId : null;
}

/**
 * `GET /api/alarms/stream`: contract §4 events as SSE `data`, `id:` the gateway-wide cursor. Every request,
 * resuming or not, opens the stream at once and first sets the client's Last-Event-ID (an id-only field
 * block), so a standard EventSource never receives an empty answer it would not retry. With `Last-Event-ID`
 * (header, or `?lastEventId=`) the missed events are sent first. A named `gap` event says the client may
 * have missed events: the ring no longer holds all of them (`ring_overflow`), or the id is not a cursor
 * this feed handed out (`unknown_cursor`: ahead of the newest, e.g. from before a clock step, or not a
 * number); it continues live from the newest cursor then.
 */
export function registerStreamRoutes(app: FastifyInstance, deps: { liveFeed: LiveFeed }): void {
  app.get(
    '/api/alarms/stream',
    {
      config: { role: 'viewer', queryToken: true },
      sse: { kind: 'only', heartbeat: true },
      // A HEAD of an endless stream would never end.
      exposeHeadRoute: false,
    },
    async (request, reply) => {
      const raw = requestedResume(reply.sse.lastEventId, request.query);
      const newest = deps.liveFeed.lastCursor;
      const parsed = raw !== null && /^\d{1,16}$/.test(raw) ? Number(raw) : null;
      const after = parsed !== null && parsed <= newest ? parsed : null;
      reply.sse.keepAlive();

      let pending = 0;
      let lastSent = after ?? newest;
      const send = (item: FeedItem): void => {
        if (!reply.sse.isConnected || item.cursor <= lastSent) return;
        if (pending >= MAX_PENDING_PER_CLIENT) {
          reply.sse.close();
          return;
        }
        pending += 1;
        lastSent = item.cursor;
        reply.sse
          .send({ id: String(item.cursor), data: item.event })
          .catch(() => undefined)
          .finally(() => {
            pending -= 1;
          });
      };
      const gap = (reason: GapReason, oldest: number | null): void => {
        void reply.sse.send({ event: 'gap', data: { after: parsed ?? raw, oldest, reason } }).catch(() => undefined);
      };

      // Commit the headers now, with an id-only field block: it fires no event but sets the client's
      // Last-Event-ID, so even a client that has received nothing yet resumes without a gap.
      reply.sse.sendHeaders();
      reply.raw.write(`id: ${lastSent}\n\n`);
      if (after !== null) {
        const missed = deps.liveFeed.since(after);
        if (missed.truncated) gap('ring_overflow', missed.items[0]?.cursor ?? null);
        for (const item of missed.items) send(item);
      } else if (raw !== null) {
        gap('unknown_cursor', null);
      }
      reply.sse.onClose(deps.liveFeed.subscribe(send));
    },
  );
}
