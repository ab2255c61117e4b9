import { describe, expect, it } from 'vitest';
import { isSuccess, statusOutcome } from './webhook-kind.js';

const answer = (status: number, headers: Record<string, string> = {}) => ({ status, headers: new Headers(headers), body: '' });
const NOW = Date.parse('2026-11-22T08:00:00Z');

describe('what an HTTP status means for a webhook attempt', () => {
  it('2xx, and only 2xx, is success', () => {
    expect([199, 200, 204, 299, 300, 302].map(isSuccess)).toEqual([false, true, true, true, false, false]);
  });

  it('410 Gone disables the subscriber and is not retried', () => {
    expect(statusOutcome(answer(410, { 'retry-after': '5' }), NOW)).toEqual({
      ok: false,
      retryable: false,
      gone: 'receiver answered 410 Gone',
      error: 'HTTP 410 Gone',
      retryAfter: null,
      holdSubscriber: false,
    });
  });

  it('408, 429 and 5xx are retried, honouring Retry-After; any other status is not', () => {
    const retryable = [400, 401, 404, 407, 408, 409, 429, 499, 500, 503, 599, 302].map((status) => [
      status,
      statusOutcome(answer(status), NOW).retryable,
    ]);
    expect(retryable).toEqual([
      [400, false],
      [401, false],
      [404, false],
      [407, false],
      [408, true],
      [409, false],
      [429, true],
      [499, false],
      [500, true],
      [503, true],
      [599, true],
      [302, false],
    ]);
    expect(statusOutcome(answer(429, { 'retry-after': '7' }), NOW)).toEqual({
      ok: false,
      retryable: true,
      gone: null,
      error: 'HTTP 429',
      retryAfter: 7_000,
      holdSubscriber: false,
    });
    expect(statusOutcome(answer(503), NOW).retryAfter).toBeNull();
  });
});
