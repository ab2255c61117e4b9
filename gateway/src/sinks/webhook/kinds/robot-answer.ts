import { truncateUtf8 } from './alarm-card.js';
import { type Answer, type AttemptOutcome, isSuccess, statusOutcome } from './webhook-kind.js';

/** How a group-robot service's `errcode` is read (its documented codes; see each kind). */
export interface RobotErrcodes {
  /** `WeCom`, `DingTalk`: named in the error. */
  service: string;
  /** The robot's rate limit: retried after `rateLimitDelay`, and the subscriber waits as long. */
  rateLimited: readonly number[];
  /** Retrying the same request cannot help (a failed signature, a refused body): dead-lettered. */
  permanent: readonly number[];
  /**
   * The robot does not exist (its key or token is wrong or was removed): no message can get through, so the
   * subscriber is disabled, as on 410 Gone, until an operator re-enables it or its url is changed.
   */
  gone: readonly number[];
}

/**
 * The answer of a group robot: HTTP 200 with `{"errcode":0,"errmsg":"ok"}` is success, any other errcode a
 * failure even with HTTP 200 — a rate limit is retried after `rateLimitDelay`, a permanent code is dead-lettered,
 * an unknown robot disables the subscriber, an unknown errcode is retried (up to maxAttempts). The error names the service, the errcode and the errmsg.
 * A status other than 2xx is read as for any webhook.
 */
export function robotOutcome(answer: Answer, now: number, codes: RobotErrcodes, rateLimitDelay: number): AttemptOutcome {
  if (!isSuccess(answer.status)) return statusOutcome(answer, now);
  let errcode: unknown;
  let errmsg: unknown;
  try {
    ({ errcode, errmsg } = JSON.parse(answer.body) as { errcode?: unknown; errmsg?: unknown });
  } catch {
    errcode = undefined;
  }
  if (typeof errcode !== 'number') {
    const error = `${codes.service}: HTTP ${answer.status} without an errcode: ${truncateUtf8(answer.body, 200)}`;
    return { ok: false, retryable: true, gone: null, error, retryAfter: null, holdSubscriber: false };
  }
  if (errcode === 0) return { ok: true };
  const error = `${codes.service} errcode ${errcode}: ${truncateUtf8(String(errmsg ?? ''), 300)}`;
  if (codes.rateLimited.includes(errcode))
    return { ok: false, retryable: true, gone: null, error, retryAfter: rateLimitDelay, holdSubscriber: true };
  if (codes.gone.includes(errcode))
    return { ok: false, retryable: false, gone: `robot is gone: ${error}`, error, retryAfter: null, holdSubscriber: false };
  return { ok: false, retryable: !codes.permanent.includes(errcode), gone: null, error, retryAfter: null, holdSubscriber: false };
}
