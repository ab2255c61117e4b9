import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainTelemetryPayload } from './plain-payload.js';
import { MAX_BACKLOG_READINGS, parseTelemetryPayload } from './telemetry-schema.js';

/** What zod keeps of a payload it accepts: the contract's fields, unknown envelope keys left out. */
function known(value: Record<string, unknown>): Record<string, unknown> {
  const pick = (from: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.filter((key) => from[key] !== undefined).map((key) => [key, from[key]]));
  if ('readings' in value)
    return { ...pick(value, ['units']), readings: (value.readings as Record<string, unknown>[]).map((reading) => known(reading)) };
  return pick(value, ['ts', 'seq', 'metrics', 'units']);
}

const anyJson = fc.jsonValue({ maxDepth: 2 });
const name = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
  fc.constantFrom('', 'a'.repeat(64), 'a'.repeat(65), `${'😀'.repeat(32)}a`, '😀'.repeat(32), 'constructor', 'toString'),
);
const timestamp = fc.oneof(
  fc.nat(),
  fc.date({ noInvalidDate: true, min: new Date(0) }).map((date) => date.toISOString()),
  fc.constantFrom(
    -1,
    2 ** 53,
    1.5,
    '2026-11-22T08:00:00+08:00',
    '2026-11-22T08:00:00',
    '2026-02-30T08:00:00Z',
    '2026-11-22 08:00:00Z',
    null,
  ),
  anyJson,
);
const count = fc.oneof(fc.nat(), fc.constantFrom(-1, -0, 2 ** 53 - 1, 2 ** 53, 0.5, '1', null), anyJson);
const metricValue = fc.oneof(
  { weight: 3, arbitrary: fc.double() },
  fc.integer(),
  fc.boolean(),
  fc.string({ maxLength: 70 }),
  fc.constantFrom('x'.repeat(64), 'x'.repeat(65), '😀'.repeat(33)),
  anyJson,
);
const metrics = fc.oneof({ weight: 4, arbitrary: fc.dictionary(name, metricValue, { maxKeys: 5 }) }, anyJson);
const units = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 34 }), anyJson), { maxKeys: 3 }) },
  fc.constantFrom({ t: 'u'.repeat(32) }, { t: 'u'.repeat(33) }, { t: '😀'.repeat(16) }),
  anyJson,
);
const reading = fc.record({ ts: timestamp, seq: count, metrics, units, note: anyJson }, { requiredKeys: [] });
/** Payloads every part of which is within the contract. */
const validReading = fc.record(
  {
    ts: fc.oneof(
      fc.nat(),
      fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(9e12) }).map((date) => date.toISOString()),
    ),
    seq: fc.nat(),
    metrics: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 64 }).filter((key) => key !== '__proto__'),
      fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ maxLength: 64 })),
      { minKeys: 1, maxKeys: 6 },
    ),
    units: fc.dictionary(
      fc.string({ maxLength: 8 }).filter((key) => key !== '__proto__'),
      fc.string({ maxLength: 32 }),
      { maxKeys: 3 },
    ),
  },
  { requiredKeys: ['metrics'] },
);
const validPayload = fc.oneof(validReading, fc.record({ readings: fc.array(validReading, { minLength: 1, maxLength: 5 }) }));

const payload = fc.oneof(
  { weight: 3, arbitrary: validPayload },
  { weight: 3, arbitrary: reading },
  { weight: 2, arbitrary: fc.record({ readings: fc.oneof(fc.array(reading, { maxLength: 4 }), anyJson), units }, { requiredKeys: [] }) },
  anyJson,
);

describe('payloads judged without zod', () => {
  it('never accepts what zod refuses, and what it accepts zod reads the same (generated payloads, most of them wrong somewhere)', () => {
    let plain = 0;
    fc.assert(
      fc.property(payload, (value) => {
        const taken = plainTelemetryPayload(value);
        if (taken === undefined) return;
        plain += 1;
        expect(taken).toBe(value);
        const judged = parseTelemetryPayload(value);
        expect(judged.success).toBe(true);
        expect(judged.data).toEqual(known(value as Record<string, unknown>));
      }),
      { numRuns: 3_000 },
    );
    // The property means nothing if nearly everything went to zod.
    expect(plain).toBeGreaterThan(900);
  }, 30_000);

  it('takes every payload within the contract itself, without zod', () => {
    fc.assert(
      fc.property(validPayload, (value) => {
        expect(plainTelemetryPayload(value)).toBe(value);
      }),
      { numRuns: 1_000 },
    );
  }, 30_000);

  it('leaves to zod what zod refuses or measures finer, at each boundary', () => {
    const reading = (fields: Record<string, unknown>) => ({ metrics: { t: 1 }, ...fields });
    const refusedOrFiner = [
      null,
      [],
      'text',
      reading({ metrics: {} }),
      reading({ metrics: [1] }),
      reading({ metrics: { t: Number.POSITIVE_INFINITY } }),
      reading({ metrics: { t: null } }),
      reading({ metrics: { t: { v: 1 } } }),
      reading({ metrics: { ['a'.repeat(65)]: 1 } }),
      reading({ metrics: { [`${'😀'.repeat(32)}a`]: 1 } }),
      reading({ metrics: { t: 'x'.repeat(65) } }),
      reading({ metrics: JSON.parse('{"__proto__":1}') }),
      reading({ ts: -1 }),
      reading({ ts: 2 ** 53 }),
      reading({ ts: 1.5 }),
      reading({ ts: null }),
      reading({ ts: '2026-11-22T08:00:00' }),
      reading({ ts: '2026-13-22T08:00:00Z' }),
      reading({ seq: -1 }),
      reading({ seq: '1' }),
      reading({ units: { t: 'u'.repeat(33) } }),
      reading({ units: { t: 1 } }),
      reading({ units: [] }),
      { readings: [] },
      { readings: {} },
      { readings: Array.from({ length: MAX_BACKLOG_READINGS + 1 }, () => reading({})) },
      { readings: [reading({}), reading({ seq: -1 })] },
      { readings: [reading({})], units: { t: 2 } },
    ];
    expect(refusedOrFiner.map((value) => plainTelemetryPayload(value))).toEqual(refusedOrFiner.map(() => undefined));
    const taken = [
      reading({ metrics: { ['a'.repeat(64)]: 'x'.repeat(64), b: false, c: -0 }, ts: 0, seq: 2 ** 53 - 1 }),
      reading({ ts: '2026-11-22T08:00:00.123+08:00', units: { t: 'u'.repeat(32) }, extra: [1, 2] }),
      { readings: Array.from({ length: MAX_BACKLOG_READINGS }, (_, seq) => reading({ seq })), units: { t: 'kPa' } },
    ];
    expect(taken.map((value) => plainTelemetryPayload(value))).toEqual(taken);
  });
});
