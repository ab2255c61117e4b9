import type { FastifyInstance } from 'fastify';
import type { FeedItem, LiveFeed } from '../../sinks/live-feed/live-feed.js';

/** A live-feed client further behind than this is disconnected; it resumes with Last-Event-ID. */
const MAX_PENDING_PER_CLIENT = 5_000;

/**
 * `GET /api/alarms/stream`: contract §4 events as SSE `data`, `id:` the gateway-wide cursor. With
 * `Last-Event-ID` (header, or `?lastEventId=` for clients that cannot set it) the missed events are sent
 * first; a named `gap` event says when the ring no longer holds all of them.
 */
export function registerStreamRoutes(app: FastifyInstance, deps: { liveFeed: LiveFeed }): void {
  app.get('/api/alarms/stream', { config: { role: 'viewer' }, sse: { kind: 'only', heartbeat: true } }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const raw = reply.sse.lastEventId ?? query.lastEventId ?? null;
    const after = raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
    reply.sse.keepAlive();

    let pending = 0;
    let lastSent = after ?? deps.liveFeed.lastCursor;
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

    if (after !== null) {
      const missed = deps.liveFeed.since(after);
      if (missed.truncated)
        void reply.sse.send({ event: 'gap', data: { after, oldest: missed.items[0]?.cursor ?? null } }).catch(() => undefined);
      lastSent = after;
      for (const item of missed.items) send(item);
    } else {
      // Commit the headers now, with an id-only field block: it fires no event but sets the client's
      // Last-Event-ID, so even a client that has received nothing yet resumes without a gap.
      reply.sse.sendHeaders();
      reply.raw.write(`id: ${lastSent}\n\n`);
    }
    reply.sse.onClose(deps.liveFeed.subscribe(send));
  });
}
