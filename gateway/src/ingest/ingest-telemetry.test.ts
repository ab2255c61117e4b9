import { describe, expect, it } from 'vitest';
import { PROFILES, type Profile } from '../../../profiles/index.js';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import {
  DEFAULT_TIMESTAMP_WINDOW,
  ingestTelemetry,
  MAX_ARRIVAL_LEAD_MS,
  type TelemetryIngestDeps,
  timestampWindowOf,
} from './ingest-telemetry.js';
import { createSeqWindow } from './seq-window.js';

const config = validateConfig(
  {
    influx: { mode: 'off' },
    devices: [{ id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' }],
  },
  '(test)',
);
const device = createDeviceRegistry(config.devices).get('dc-01') as RegisteredDevice;
const profile = PROFILES.get('dust-collector') as Profile;
const NOW = Date.UTC(2026, 10, 22, 8);
const MINUTE = 60_000;
const DAY = 86_400_000;

/** A fresh ingest path (its own seq window) with the default time window and maxPayloadBytes 4096. */
function ingest(overrides: Partial<TelemetryIngestDeps> = {}) {
  const deps: TelemetryIngestDeps = {
    maxPayloadBytes: 4096,
    seqWindow: createSeqWindow(),
    timestamps: DEFAULT_TIMESTAMP_WINDOW,
    ...overrides,
  };
  return (payload: unknown, receivedAt = NOW) =>
    ingestTelemetry(
      deps,
      device,
      profile,
      Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
      receivedAt,
    );
}

/** The one rejection of a payload refused as a whole. */
function refusal(payload: unknown) {
  const outcome = ingest()(payload);
  expect(outcome.accepted).toEqual([]);
  expect(outcome.rejections).toHaveLength(1);
  return outcome.rejections[0];
}

describe('a payload refused as a whole: the reason and what exactly was wrong', () => {
  it('too_large: over maxPayloadBytes, not at it', () => {
    const atLimit = Buffer.from(JSON.stringify({ metrics: { hopper_temp: 40 }, pad: '' }));
    const padded = (bytes: number) =>
      Buffer.from(JSON.stringify({ metrics: { hopper_temp: 40 }, pad: 'x'.repeat(bytes - atLimit.length) }));
    expect(ingest({ maxPayloadBytes: 100 })(padded(100)).accepted).toHaveLength(1);
    expect(ingest({ maxPayloadBytes: 100 })(padded(101)).rejections).toEqual([{ reason: 'too_large', detail: '101 bytes > limit of 100' }]);
  });

  it('decode: bytes that are not UTF-8, text that is not JSON', () => {
    expect(refusal(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toEqual({ reason: 'decode', detail: 'payload is not valid UTF-8' });
    expect(refusal('{"metrics": {"hopper_temp": 40')).toEqual({ reason: 'decode', detail: expect.stringMatching(/^not JSON: .*JSON/) });
  });

  it('unknown_metric: a __proto__ key among metric or unit names, with its path, single or in a backlog', () => {
    const detail = (path: string) => ({ reason: 'unknown_metric', detail: `${path}: not a metric of profile dust-collector` });
    expect(refusal('{"metrics":{"__proto__":1}}')).toEqual(detail('metrics.__proto__'));
    expect(refusal('{"metrics":{"hopper_temp":1},"units":{"__proto__":"C"}}')).toEqual(detail('units.__proto__'));
    expect(refusal('{"readings":[{"metrics":{"hopper_temp":1}}],"units":{"__proto__":"C"}}')).toEqual(detail('units.__proto__'));
    expect(refusal('{"readings":[{"metrics":{"hopper_temp":1}},{"metrics":{"__proto__":1}}]}')).toEqual(
      detail('readings[1].metrics.__proto__'),
    );
    expect(refusal('{"readings":[{"metrics":{"hopper_temp":1}},{"metrics":{"hopper_temp":2},"units":{"__proto__":"C"}}]}')).toEqual(
      detail('readings[1].units.__proto__'),
    );
    // A "__proto__" as a value or another key's name is no such key; null holders and readings are shape problems.
    expect(ingest()('{"metrics":{"hopper_temp":1},"note":{"__proto__":1}}').accepted).toHaveLength(1);
    expect(refusal('{"metrics":null}')).toEqual({ reason: 'schema', detail: expect.stringMatching(/^metrics: /) });
    expect(refusal('{"readings":[null]}')).toEqual({ reason: 'schema', detail: expect.stringMatching(/^readings\[0\]: /) });
    expect(refusal('{"readings":{"metrics":{"__proto__":1}}}')).toEqual({ reason: 'schema', detail: expect.stringMatching(/^readings: /) });
  });

  it('schema: each problem as its path and message, (root) for the whole payload, at most five, in the form chosen by `readings`', () => {
    expect(refusal(null)).toEqual({ reason: 'schema', detail: '(root): Invalid input: expected object, received null' });
    expect(refusal([])).toEqual({ reason: 'schema', detail: '(root): Invalid input: expected object, received array' });
    expect(refusal('"online"')).toEqual({ reason: 'schema', detail: '(root): Invalid input: expected object, received string' });
    expect(refusal('42')).toEqual({ reason: 'schema', detail: '(root): Invalid input: expected object, received number' });
    expect(refusal({ metrics: {} })).toEqual({ reason: 'schema', detail: 'metrics: at least one metric is required' });
    expect(refusal({ readings: [] })).toEqual({ reason: 'schema', detail: 'readings: Too small: expected array to have >=1 items' });
    expect(refusal({ readings: [{ metrics: {} }, { ts: 'x', metrics: { hopper_temp: 1 } }] })).toEqual({
      reason: 'schema',
      detail:
        'readings[0].metrics: at least one metric is required; readings[1].ts: expected an RFC 3339 time such as 2026-11-22T08:00:00Z',
    });
    const six = refusal({ readings: [{}, {}, {}, {}, {}, {}] })?.detail.split('; ');
    expect(six).toHaveLength(5);
    expect(six?.[4]).toBe('readings[4].metrics: Invalid input: expected record, received undefined');
  });

  it('schema: device times as non-negative integer milliseconds or RFC 3339 text with a zone', () => {
    const ts = (value: unknown) => ingest()({ ts: value, metrics: { hopper_temp: 40 } });
    const rfc = 'ts: expected an RFC 3339 time such as 2026-11-22T08:00:00Z';
    for (const good of ['2026-11-22T08:00:00Z', '2026-11-22T08:00:00.5Z', '2026-11-22T09:30:00.123+01:30', '2026-11-22T03:00:00-05:00']) {
      expect(
        ts(good).accepted.map((a) => a.deviceTs),
        good,
      ).toEqual([Date.parse(good)]);
    }
    for (const bad of [
      '2026-11-22T08:00:00', // no zone
      '2026-11-22 08:00:00Z',
      '26-11-22T08:00:00Z',
      '2026-11-22T08:00Z',
      '2026-11-22T08:00:00.Z',
      '2026-11-22T08:00:00+0100',
      '+002026-11-22T08:00:00Z', // an expanded year: Date.parse reads it, RFC 3339 has none
      ' 2026-11-22T08:00:00Z',
      '2026-11-22T08:00:00Z ',
      '2026-13-45T08:00:00Z', // the right shape, no such day
    ]) {
      expect(ts(bad).rejections, bad).toEqual([{ reason: 'schema', detail: rfc }]);
    }
    expect(ts(-1).rejections).toEqual([{ reason: 'schema', detail: 'ts: Too small: expected number to be >=0' }]);
    expect(ts(1.5).rejections).toEqual([{ reason: 'schema', detail: 'ts: Invalid input' }]);
    expect(ts(0).rejections[0]?.reason).toBe('past_timestamp');
  });

  it('schema: seq a non-negative integer; metric names of 1 to 64 characters; text values up to 64, units up to 32', () => {
    const seq = (value: unknown) => ingest()({ seq: value, metrics: { hopper_temp: 40 } });
    expect(seq(0).accepted.map((a) => a.reading.seq)).toEqual([0]);
    expect(seq(-1).rejections[0]).toEqual({ reason: 'schema', detail: 'seq: Too small: expected number to be >=0' });
    expect(seq(1.5).rejections[0]).toEqual({ reason: 'schema', detail: 'seq: Invalid input: expected int, received number' });

    expect(refusal({ metrics: { '': 1 } })).toEqual({ reason: 'schema', detail: 'metrics.: Invalid key in record' });
    expect(refusal({ metrics: { ['m'.repeat(65)]: 1 } })?.reason).toBe('schema');
    // 64 characters is a name (of no metric here), 64 characters a text value (of no enum), 32 a unit (of nothing).
    expect(refusal({ metrics: { ['m'.repeat(64)]: 1 } })?.reason).toBe('unknown_metric');
    expect(refusal({ metrics: { rotary_valve: 'x'.repeat(64) } })?.reason).toBe('type');
    expect(refusal({ metrics: { rotary_valve: 'x'.repeat(65) } })).toEqual({
      reason: 'schema',
      detail: 'metrics.rotary_valve: Too big: expected string to have <=64 characters',
    });
    expect(refusal({ metrics: { hopper_temp: 1 }, units: { hopper_temp: 'u'.repeat(32) } })?.reason).toBe('unit');
    expect(refusal({ metrics: { hopper_temp: 1 }, units: { hopper_temp: 'u'.repeat(33) } })).toEqual({
      reason: 'schema',
      detail: 'units.hopper_temp: Too big: expected string to have <=32 characters',
    });
    expect(refusal({ metrics: { hopper_temp: null } })?.reason).toBe('schema');
  });

  it('schema: a backlog of at most 1000 readings', () => {
    const readings = (n: number) => ({ readings: Array.from({ length: n }, (_, i) => ({ seq: i, metrics: { hopper_temp: i } })) });
    const judge = ingest({ maxPayloadBytes: 1_000_000 });
    expect(judge(readings(1000)).accepted).toHaveLength(1000);
    expect(judge(readings(1001))).toEqual({
      accepted: [],
      rejections: [{ reason: 'schema', detail: 'readings: Too big: expected array to have <=1000 items' }],
    });
  });
});

describe('validated against the profile and converted to canonical units', () => {
  it('unknown_metric, type and unit rejections say which metric and why, at their reading in a backlog', () => {
    expect(refusal({ metrics: { hopper_temp: 40, colour: 3 } })).toEqual({
      reason: 'unknown_metric',
      detail: 'metrics.colour: not a metric of profile dust-collector',
    });
    // Inherited names are no metrics: looked up as own properties only.
    expect(refusal({ metrics: { constructor: 1 } })).toEqual({
      reason: 'unknown_metric',
      detail: 'metrics.constructor: not a metric of profile dust-collector',
    });
    expect(refusal({ metrics: { hopper_temp: 'hot' } })).toEqual({
      reason: 'type',
      detail: 'metrics.hopper_temp: expected a number, got "hot"',
    });
    expect(refusal({ metrics: { fan_running: 1 } })).toEqual({ reason: 'type', detail: 'metrics.fan_running: expected a boolean, got 1' });
    expect(refusal({ metrics: { rotary_valve: 'spinning' } })).toEqual({
      reason: 'type',
      detail: 'metrics.rotary_valve: expected one of running, stopped, fault, got "spinning"',
    });
    expect(refusal({ metrics: { spark_count: 2.5 } })).toEqual({
      reason: 'type',
      detail: 'metrics.spark_count: expected a number, got 2.5',
    });
    expect(refusal({ metrics: { diff_pressure: 3 }, units: { diff_pressure: 'furlongs' } })).toEqual({
      reason: 'unit',
      detail: 'units.diff_pressure: cannot convert "furlongs" to Pa (accepted: Pa, kPa, hPa, mbar, bar, MPa, mmH2O, inH2O)',
    });
    expect(refusal({ metrics: { hopper_temp: 3 }, units: { hopper_temp: 'valueOf' } })?.detail).toMatch(
      /^units\.hopper_temp: cannot convert "valueOf" to °C \(accepted: /,
    );
    expect(refusal({ metrics: { fan_running: true }, units: { fan_running: 'rpm' } })).toEqual({
      reason: 'unit',
      detail: 'units.fan_running: boolean metrics take no unit',
    });
    expect(refusal({ metrics: { rotary_valve: 'running' }, units: { rotary_valve: 'x' } })?.detail).toBe(
      'units.rotary_valve: enum metrics take no unit',
    );
    expect(refusal({ metrics: { hopper_temp: 1 }, units: { colour: 'red' } })).toEqual({
      reason: 'unknown_metric',
      detail: 'units.colour: not a metric of profile dust-collector',
    });
    expect(refusal({ metrics: { hopper_temp: 1 }, units: { toString: '°C' } })?.detail).toBe(
      'units.toString: not a metric of profile dust-collector',
    );
    expect(refusal({ readings: [{ metrics: { hopper_temp: 1 } }, { metrics: { hopper_temp: 'hot' } }] })?.detail).toBe(
      'readings[1].metrics.hopper_temp: expected a number, got "hot"',
    );
    expect(refusal({ readings: [{ metrics: { hopper_temp: 1 } }, { metrics: { hopper_temp: 2 }, units: { colour: 'x' } }] })?.detail).toBe(
      'readings[1].units.colour: not a metric of profile dust-collector',
    );
    // One bad reading refuses the whole backlog.
    expect(refusal({ readings: [{ metrics: { hopper_temp: 1 } }, { metrics: { colour: 1 } }] })?.reason).toBe('unknown_metric');
  });

  it('stores each reading with the device, its profile, its times and sequence number, values in canonical units', () => {
    const outcome = ingest()(
      {
        ts: NOW - 1_000,
        seq: 7,
        metrics: { hopper_temp: 212, diff_pressure: 1.5, fan_running: true, rotary_valve: 'fault' },
        units: { hopper_temp: '°F', diff_pressure: 'kPa' },
      },
      NOW,
    );
    expect(outcome).toEqual({
      rejections: [],
      accepted: [
        {
          deviceTs: NOW - 1_000,
          reading: {
            site: 'site-a',
            device: 'dc-01',
            profile: 'dust-collector',
            ts: NOW - 1_000,
            receivedAt: NOW,
            seq: 7,
            metrics: { hopper_temp: 100, diff_pressure: 1_500, fan_running: true, rotary_valve: 'fault' },
          },
        },
      ],
    });
  });

  it('a reading without a device time is stamped with the receive time (its deviceTs null); RFC 3339 text is read as its instant', () => {
    const [untimed] = ingest()({ metrics: { hopper_temp: 40 } }).accepted;
    expect(untimed).toEqual({ deviceTs: null, reading: expect.objectContaining({ ts: NOW, receivedAt: NOW, seq: undefined }) });
    const [texted] = ingest()({ ts: '2026-11-22T08:30:00+01:00', metrics: { hopper_temp: 40 } }).accepted;
    expect(texted?.deviceTs).toBe(NOW - 30 * MINUTE);
    expect(texted?.reading.ts).toBe(NOW - 30 * MINUTE);
  });

  it('a backlog: each reading in order, the backlog units for all, a reading’s own units first; units for metrics not sent are fine', () => {
    const outcome = ingest()({
      units: { hopper_temp: 'K', diff_pressure: 'kPa' },
      readings: [
        { ts: NOW - 2_000, seq: 1, metrics: { hopper_temp: 300 } },
        { ts: NOW - 1_000, seq: 2, metrics: { hopper_temp: 50 }, units: { hopper_temp: '°C' } },
        { seq: 3, metrics: { diff_pressure: 2 } },
      ],
    });
    expect(outcome.rejections).toEqual([]);
    expect(outcome.accepted.map((a) => [a.reading.seq, a.reading.ts, a.reading.metrics])).toEqual([
      [1, NOW - 2_000, { hopper_temp: 300 - 273.15 }],
      [2, NOW - 1_000, { hopper_temp: 50 }],
      [3, NOW, { diff_pressure: 2_000 }],
    ]);
    // The backlog's units are of the backlog, not of a single reading that happens to carry `units`.
    expect(ingest()({ metrics: { hopper_temp: 300 }, units: { hopper_temp: 'K' } }).accepted[0]?.reading.metrics).toEqual({
      hopper_temp: 300 - 273.15,
    });
  });
});

describe('readings dropped one by one: times out of the window, duplicates', () => {
  it('default window: up to 5 min ahead of the gateway and 90 days behind it, both ends included', () => {
    const at = (ts: number) => ingest()({ ts, seq: 1, metrics: { hopper_temp: 40 } });
    expect(at(NOW + 5 * MINUTE).accepted).toHaveLength(1);
    expect(at(NOW + 5 * MINUTE + 1).rejections).toEqual([
      { reason: 'future_timestamp', detail: 'seq 1: 2026-11-22T08:05:00.001Z is 300 s ahead of the gateway (limit 300 s)' },
    ]);
    expect(at(NOW - 90 * DAY).accepted).toHaveLength(1);
    expect(at(NOW - 90 * DAY - 1).rejections).toEqual([
      { reason: 'past_timestamp', detail: 'seq 1: 2026-08-24T07:59:59.999Z is 7776000 s behind the gateway (limit 7776000 s)' },
    ]);
  });

  it('a window of its own; the distance rounded to whole seconds; `-` for a reading without seq', () => {
    const narrow = ingest({ timestamps: { maxAheadMs: 2_000, maxBehindMs: 10_000 } });
    expect(narrow({ ts: NOW + 2_000, metrics: { hopper_temp: 1 } }).accepted).toHaveLength(1);
    expect(narrow({ ts: NOW + 3_600, metrics: { hopper_temp: 1 } }).rejections).toEqual([
      { reason: 'future_timestamp', detail: 'seq -: 2026-11-22T08:00:03.600Z is 4 s ahead of the gateway (limit 2 s)' },
    ]);
    expect(narrow({ ts: NOW - 10_000, metrics: { hopper_temp: 1 } }).accepted).toHaveLength(1);
    expect(narrow({ ts: NOW - 12_400, metrics: { hopper_temp: 1 } }).rejections).toEqual([
      { reason: 'past_timestamp', detail: 'seq -: 2026-11-22T07:59:47.600Z is 12 s behind the gateway (limit 10 s)' },
    ]);
  });

  it('a time beyond what a Date holds is shown as the number sent', () => {
    const far = (ts: number) => ingest()({ ts, metrics: { hopper_temp: 1 } }).rejections[0]?.detail;
    expect(far(8.64e15)).toMatch(/^seq -: \+275760-09-13T00:00:00\.000Z is \d+ s ahead/);
    expect(far(8.64e15 + 1)).toMatch(/^seq -: 8640000000000001 ms is \d+ s ahead/);
  });

  it('duplicates by seq dropped one by one, the rest of the backlog kept; readings without seq never duplicates', () => {
    const judge = ingest();
    expect(judge({ ts: NOW - 3_000, seq: 5, metrics: { hopper_temp: 1 } }).accepted).toHaveLength(1);
    const outcome = judge({
      readings: [
        { ts: NOW - 3_000, seq: 5, metrics: { hopper_temp: 1 } },
        { ts: NOW + 3_600_000, seq: 6, metrics: { hopper_temp: 2 } },
        { ts: NOW - 1_000, seq: 7, metrics: { hopper_temp: 3 } },
        { metrics: { hopper_temp: 4 } },
      ],
    });
    expect(outcome.rejections).toEqual([
      { reason: 'duplicate', detail: 'seq 5 already received' },
      { reason: 'future_timestamp', detail: expect.stringMatching(/^seq 6: /) },
    ]);
    expect(outcome.accepted.map((a) => a.reading.metrics.hopper_temp)).toEqual([3, 4]);
    expect(judge({ metrics: { hopper_temp: 4 } }).accepted).toHaveLength(1);
    // A reading refused for its time is not remembered: sent again in time, it is new.
    expect(judge({ ts: NOW - 500, seq: 6, metrics: { hopper_temp: 2 } }).accepted).toHaveLength(1);
    // Without a device time the same payload again (a redelivery, received later) is a duplicate too
    expect(judge({ seq: 9, metrics: { hopper_temp: 1 } }).accepted).toHaveLength(1);
    expect(judge({ seq: 9, metrics: { hopper_temp: 1 } }, NOW + 1).rejections).toEqual([
      { reason: 'duplicate', detail: 'seq 9 already received' },
    ]);
  });

  it('a device without a clock that reboots and counts from 0 again is heard: its readings carry other values under the old numbers', () => {
    const judge = ingest();
    const first = Array.from({ length: 20 }, (_, seq) => ({ seq, metrics: { hopper_temp: 40 + seq / 10 } }));
    for (const reading of first) expect(judge(reading).accepted).toHaveLength(1);
    // rebooted: 0, 1, 2… again with what it measures now
    const again = Array.from({ length: 20 }, (_, seq) => ({ seq, metrics: { hopper_temp: 50 + seq / 10 } }));
    for (const reading of again) expect(judge(reading, NOW + 60_000).accepted).toHaveLength(1);
    // and a redelivery of one of those (a lost PUBACK) is still a duplicate
    expect(judge(again[5] as object, NOW + 61_000).rejections).toEqual([{ reason: 'duplicate', detail: 'seq 5 already received' }]);
  });

  it('a backlog sent newest first is handed on oldest first (the rule engine would take all but the first as late)', () => {
    const outcome = ingest()({
      readings: [
        { ts: NOW - 1_000, metrics: { hopper_temp: 3 } },
        { ts: NOW - 3_000, metrics: { hopper_temp: 1 } },
        { ts: NOW - 2_000, metrics: { hopper_temp: 2 } },
      ],
    });
    expect(outcome.accepted.map((a) => a.reading.metrics.hopper_temp)).toEqual([1, 2, 3]);
  });

  it('readings without a device time each get a millisecond of their own: InfluxDB would keep one point of the same time', () => {
    const judge = ingest({ arrivalTimes: new Map() });
    const batch = judge({ readings: [{ metrics: { hopper_temp: 1 } }, { metrics: { hopper_temp: 2 } }, { metrics: { hopper_temp: 3 } }] });
    expect(batch.accepted.map((a) => a.reading.ts)).toEqual([NOW, NOW + 1, NOW + 2]);
    // the next publish in the same millisecond goes on from there; a reading with its own time keeps it
    expect(judge({ metrics: { hopper_temp: 4 } }).accepted.map((a) => a.reading.ts)).toEqual([NOW + 3]);
    expect(judge({ ts: NOW - 5_000, metrics: { hopper_temp: 5 } }).accepted.map((a) => a.reading.ts)).toEqual([NOW - 5_000]);
    expect(judge({ metrics: { hopper_temp: 6 } }, NOW + 60_000).accepted.map((a) => a.reading.ts)).toEqual([NOW + 60_000]);
  });

  it('refuses as past_timestamp what InfluxDB would refuse for its age: the window behind is the shorter of maxAge and the retention', () => {
    const ingestSettings = { maxClockAhead: 5 * MINUTE, maxAge: 90 * DAY };
    expect(timestampWindowOf(ingestSettings, { mode: 'url', retention: 7 * DAY })).toEqual({
      maxAheadMs: 5 * MINUTE,
      maxBehindMs: 7 * DAY,
    });
    expect(timestampWindowOf(ingestSettings, { mode: 'url', retention: 'inf' }).maxBehindMs).toBe(90 * DAY);
    expect(timestampWindowOf(ingestSettings, { mode: 'off', retention: 7 * DAY }).maxBehindMs).toBe(90 * DAY);
    const judge = ingest({ timestamps: timestampWindowOf(ingestSettings, { mode: 'url', retention: 7 * DAY }) });
    expect(judge({ ts: NOW - 8 * DAY, metrics: { hopper_temp: 1 } }).rejections.map((r) => r.reason)).toEqual(['past_timestamp']);
    expect(judge({ ts: NOW - 6 * DAY, metrics: { hopper_temp: 1 } }).accepted).toHaveLength(1);
  });

  it('a device sending more readings without times than milliseconds pass: their times run at most a second ahead', () => {
    const judge = ingest({ arrivalTimes: new Map(), maxPayloadBytes: 100_000 });
    const batch = { readings: Array.from({ length: 1_000 }, () => ({ metrics: { hopper_temp: 1 } })) };
    const times = [...judge(batch).accepted, ...judge(batch).accepted].map((a) => a.reading.ts);
    expect(times[999]).toBe(NOW + 999);
    expect(Math.max(...times)).toBe(NOW + MAX_ARRIVAL_LEAD_MS);
  });
});
