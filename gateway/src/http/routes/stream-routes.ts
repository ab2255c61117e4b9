import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeedItem, LiveFeed } from '../../sinks/live-feed/live-feed.js';
import { AUTH_ERRORS, errorResponses } from '../api-error.js';

/**
 * A live-feed client further behind than the ring holds is disconnected; it resumes with Last-Event-ID. One tick can
 * raise thousands of alarms at once (a site's network back after an outage), all written before any is flushed, and
 * a console reading at full speed must not be cut for a burst the ring can replay. Bounded both ways: at least
 * 5,000; at most 10,000, because every write waiting on a slow socket holds two listeners of the SSE plugin whose
 * removal costs O(n²) on the broker's thread (20,000 waiting: seconds) — a client cut there resumes from the ring.
 */
const MIN_PENDING_PER_CLIENT = 5_000;
const MAX_PENDING_PER_CLIENT = 10_000;
/**
 * An open stream asks again whether its credential still admits it this often, besides at once after any account
 * change: a session past its expiry ends it by then. Asking does not count as a use of the session or token.
 */
export const READMIT_EVERY_MS = 10_000;

/** Why a resuming client may have missed events: the ring overflowed, or its id is not a cursor of this feed. */
export type GapReason = 'ring_overflow' | 'unknown_cursor';

const streamQuery = z.object({
  lastEventId: z
    .string()
    .optional()
    .meta({ examples: ['1042'] })
    .describe('resume after this cursor, for clients that cannot set the Last-Event-ID header'),
  access_token: z.string().optional().describe('the bearer token, for EventSource clients that cannot set headers (this route only)'),
});

const STREAM_DESCRIPTION = [
  'Server-Sent Events: `data:` is an alarm event (contract §4), `id:` a gateway-wide increasing cursor.',
  'Resumes after the `Last-Event-ID` header (or `?lastEventId=`); every request opens the stream at once.',
  'A named `gap` event `{ after, oldest, reason }` says events may have been missed: `ring_overflow` or `unknown_cursor`.',
].join(' ');

/** Last-Event-ID from the header, or `?lastEventId=` for clients that cannot set it; null when absent. */
function requestedResume(headerValue: string | null, queryValue: string | undefined): string | null {
  if (headerValue !== null && headerValue !== '') return headerValue;
  return queryValue !== undefined && queryValue !== '' ? queryValue : null;
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
export function registerStreamRoutes(
  app: FastifyInstance,
  deps: { liveFeed: LiveFeed; accounts: { onCredentialsChanged(listener: () => void): () => void } },
): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/alarms/stream',
    {
      config: { role: 'viewer', queryToken: true },
      schema: {
        summary: 'Live alarm events (SSE)',
        description: STREAM_DESCRIPTION,
        tags: ['alarms'],
        querystring: streamQuery,
        response: {
          200: { description: 'an endless event stream', content: { 'text/event-stream': { schema: z.string() } } },
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'not_acceptable']),
        },
      },
      sse: { kind: 'only', heartbeat: true },
      // A HEAD of an endless stream would never end.
      exposeHeadRoute: false,
    },
    async (request, reply) => {
      const raw = requestedResume(reply.sse.lastEventId, request.query.lastEventId);
      const newest = deps.liveFeed.lastCursor;
      const parsed = raw !== null && /^\d{1,16}$/.test(raw) ? Number(raw) : null;
      const after = parsed !== null && parsed <= newest ? parsed : null;
      reply.sse.keepAlive();

      const maxPending = Math.min(MAX_PENDING_PER_CLIENT, Math.max(MIN_PENDING_PER_CLIENT, deps.liveFeed.capacity));
      let pending = 0;
      let lastSent = after ?? newest;
      const send = (item: FeedItem): void => {
        if (!reply.sse.isConnected || item.cursor <= lastSent) return;
        if (pending >= maxPending) {
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
      const unsubscribe = deps.liveFeed.subscribe(send);
      // A credential revoked, its user disabled or removed, a session ended: the stream ends with it (its client's
      // reconnection is refused 401), not when the socket happens to drop.
      const readmit = (): void => {
        if (!reply.sse.isConnected) return;
        let admitted: boolean;
        try {
          admitted = request.callerStillAdmitted?.() !== false;
        } catch (error) {
          // the account store failing: the stream cannot be vouched for, and ends (its reconnection is judged afresh)
          request.log.warn({ err: error }, 'live feed ended: its credential could not be checked');
          admitted = false;
        }
        if (admitted) return;
        request.log.info({ caller: request.caller?.name ?? null }, 'live feed ended: its credential no longer admits it');
        reply.sse.close();
      };
      const stopListening = deps.accounts.onCredentialsChanged(readmit);
      const timer = setInterval(readmit, READMIT_EVERY_MS);
      timer.unref();
      reply.sse.onClose(() => {
        unsubscribe();
        stopListening();
        clearInterval(timer);
      });
    },
  );
}
