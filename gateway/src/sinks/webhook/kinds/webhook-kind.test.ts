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

  it('every status is retried, honouring Retry-After, but those refusing the body itself (400, 413, 415, 422)', () => {
    const retryable = [400, 401, 404, 407, 408, 409, 413, 415, 422, 429, 499, 500, 503, 599, 302].map((status) => [
      status,
      statusOutcome(answer(status), NOW).retryable,
    ]);
    expect(retryable).toEqual([
      [400, false],
      [401, true],
      [404, true],
      [407, true],
      [408, true],
      [409, true],
      [413, false],
      [415, false],
      [422, false],
      [429, true],
      [499, true],
      [500, true],
      [503, true],
      [599, true],
      [302, true],
    ]);
    expect(statusOutcome(answer(429, { 'retry-after': '7' }), NOW)).toEqual({
      ok: false,
      retryable: true,
      gone: null,
      error: 'HTTP 429',
      retryAfter: 7_000,
      holdSubscriber: true,
    });
    expect(statusOutcome(answer(503), NOW)).toMatchObject({ retryAfter: null, holdSubscriber: false });
    expect(statusOutcome(answer(503, { 'retry-after': '7' }), NOW).holdSubscriber).toBe(true);
    expect(statusOutcome(answer(500, { 'retry-after': '7' }), NOW).holdSubscriber).toBe(false);
  });
});
