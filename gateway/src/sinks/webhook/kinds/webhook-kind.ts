import type { AlarmEvent } from '../../../../../rules/src/index.js';
import { retryAfterMs } from '../retry-after.js';
import type { OutboxDelivery } from '../webhook-outbox.js';

/** What one attempt's answer means for the delivery. */
export type AttemptOutcome =
  | { ok: true }
  | {
      ok: false;
      /** Another attempt may succeed (429, 5xx, a timeout, a rate limit); otherwise it is dead-lettered. */
      retryable: boolean;
      /**
       * Why the receiver is gone for every message, not just this one (410 Gone; a robot whose key or token does
       * not exist): the subscriber is disabled with this reason. Null: only this attempt failed.
       */
      gone: string | null;
      /** Shown as the subscriber's `lastError` and the dead letter's; an IM service's errcode and errmsg. */
      error: string;
      /** Wait at least this long (ms) before the next attempt (`Retry-After`, a service's rate limit). */
      retryAfter: number | null;
      /** The whole subscriber waits `retryAfter`, not only this delivery (a rate limit counts every message). */
      holdSubscriber: boolean;
    };

/** The receiver's answer to one attempt. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The response body as text (IM services answer `{"errcode":…,"errmsg":…}`). */
  body: string;
}

/**
 * One subscriber kind (`webhooks[].kind`): how an event becomes the request body, where each attempt goes with
 * which headers, and what the answer means. The body is rendered once, when the event is queued, and kept in the
 * outbox: every attempt, before and after a restart, sends the same bytes; only the per-attempt parts (signature
 * timestamps) are computed in `request`.
 */
export interface WebhookKind {
  /** The request body for `event`. */
  render(event: AlarmEvent): string;
  /** The url and headers of an attempt made at `now` (ms since the epoch). */
  request(delivery: OutboxDelivery, now: number): { url: string; headers: Record<string, string> };
  /** What the receiver's answer means. */
  judge(answer: Answer, now: number): AttemptOutcome;
  /** Messages started per minute at most, unless the subscriber says otherwise; null: no pacing. */
  defaultMaxPerMinute: number | null;
  /** Whether `judge` reads the answer's body (a robot's errcode); false: the status line decides, as soon as it comes. */
  readsBody: boolean;
}

/**
 * Answers that say the receiver will never take this body, whenever it is sent: a malformed request (400), too large
 * (413), a media type it does not take (415), a body it cannot process (422). Dead-lettered at once, `not_retryable`.
 */
const REFUSES_THE_BODY = new Set([400, 413, 415, 422]);

/**
 * An HTTP status that is not 2xx: 410 disables the subscriber; one that refuses the body itself (REFUSES_THE_BODY) is
 * not retryable; anything else is retried (honouring Retry-After): 5xx, 408 and 429, and also a redirect during
 * maintenance, a 401/403 while a secret is being rotated on the receiver, a 404 while it is being deployed — a blip
 * becomes backoff, not a dead letter an operator must replay.
 */
export function statusOutcome(answer: Answer, now: number): AttemptOutcome & { ok: false } {
  if (answer.status === 410)
    return {
      ok: false,
      retryable: false,
      gone: 'receiver answered 410 Gone',
      error: 'HTTP 410 Gone',
      retryAfter: null,
      holdSubscriber: false,
    };
  const retryAfter = retryAfterMs(answer.headers.get('retry-after'), now);
  return {
    ok: false,
    retryable: !REFUSES_THE_BODY.has(answer.status),
    gone: null,
    error: `HTTP ${answer.status}`,
    retryAfter,
    // 429, or 503 with Retry-After, speaks for the receiver, not for this one event: nothing goes to it meanwhile
    holdSubscriber: answer.status === 429 || (answer.status === 503 && retryAfter !== null),
  };
}

export const isSuccess = (status: number): boolean => status >= 200 && status < 300;
