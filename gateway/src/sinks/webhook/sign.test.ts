import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from './retry-after.js';
import { signatureHeader } from './sign.js';

describe('Standard Webhooks signature', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = '{"test": 2432232314}';

  it('matches the reference implementation', () => {
    const reference = new Webhook(secret).sign('msg_p5jXN8AQM9LWM0D4loKWxJek', new Date(1614265330 * 1000), body);
    expect(signatureHeader([secret], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)).toBe(reference);
  });

  it('signs with every secret, space-separated, during rotation, each with its own secret', () => {
    const other = `whsec_${Buffer.from('rotated').toString('base64')}`;
    const timestamp = 1614265330;
    const header = signatureHeader([secret, other], 'msg_1', timestamp, body);
    expect(header.split(' ')).toEqual([
      new Webhook(secret).sign('msg_1', new Date(timestamp * 1000), body),
      new Webhook(other).sign('msg_1', new Date(timestamp * 1000), body),
    ]);
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs('120', 0)).toBe(120_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(retryAfterMs('soon', 0)).toBeNull();
    expect(retryAfterMs(null, 0)).toBeNull();
  });

  it('trims the header, takes a date already past as now, and reads nothing from an empty or partly numeric one', () => {
    expect(retryAfterMs(' 3 ', 0)).toBe(3_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:28:10 GMT'))).toBe(0);
    expect(retryAfterMs('', 0)).toBeNull();
    expect(retryAfterMs('3x', 0)).toBeNull();
    expect(retryAfterMs('x3', 0)).toBeNull();
  });

  it('reads the three date forms HTTP has and nothing else V8 would take for a date; honours an hour at most', () => {
    const now = Date.parse('Sun, 06 Nov 1994 08:49:00 GMT');
    expect(retryAfterMs('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(37_000);
    expect(retryAfterMs('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(37_000);
    expect(retryAfterMs('Sun Nov  6 08:49:37 1994', now)).toBe(37_000);
    // Date.parse reads each of these as some date: a receiver's garbage must not decide when to retry
    for (const garbage of ['in 3', '3 minutes', '2026-12-04', 'Dec 4 2026', 'Sun, 06 Nov 1994 08:49:37', '1e3', '-5'])
      expect(retryAfterMs(garbage, now), garbage).toBeNull();
    expect(retryAfterMs('31536000', 0)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('3600', 0)).toBe(3_600_000);
    expect(retryAfterMs('Sun, 06 Nov 1994 10:49:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });
});
