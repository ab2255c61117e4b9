import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostilePayload, hugePayload, PROTOTYPE_NAMES } from '../../../test/support/hostile-payloads.js';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { buildLaneCore, laneConfigOf } from '../lane/build-lane-core.js';
import type { LaneCore } from '../lane/telemetry-lane.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { REJECTION_REASONS } from './rejection.js';

/** Payloads thrown at the ingest path per run (the issue asks for at least 100,000). */
const RUNS = 100_000;
const HUGE_RUNS = 40;
const SECRET_HASH = 'sha256$c2FsdA==$aGFzaA==';

/** An InfluxDB URL nothing answers: the sink spools every point (each accepted reading's line is built) and keeps it. */
const INFLUX_AWAY = 'http://127.0.0.1:9';

/**
 * A lane core as the gateway builds it (real profiles, rules, engine and the InfluxDB sink on the local store), with a
 * log that keeps its error lines.
 */
async function realLaneCore(): Promise<{ core: LaneCore; device: RegisteredDevice; errors: string[] }> {
  const config = validateConfig(
    {
      influx: { url: INFLUX_AWAY, flushInterval: '1h' },
      dataDir: mkdtempSync(join(tmpdir(), 'hostile-input-')),
      devices: [{ id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: SECRET_HASH }],
    },
    '(test)',
  );
  const registry = createDeviceRegistry(config.devices);
  const errors: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      errors.push(String(chunk));
      done();
    },
  });
  const log = createLogger('error', sink);
  const outlet = { alarmChanges: () => undefined, readingStored: () => undefined };
  const { core } = await buildLaneCore(
    { config: laneConfigOf(config), influxUrl: INFLUX_AWAY },
    registry,
    outlet,
    createGatewayMetrics({ processMetrics: false }),
    log,
  );
  core.start(Date.now());
  return { core, device: registry.get('dc-01') as RegisteredDevice, errors };
}

const prototypeSnapshot = (): string => JSON.stringify(Object.getOwnPropertyNames(Object.prototype).sort());

describe('hostile input at the ingest path (contract §2: a malformed payload never crashes or stalls the gateway)', () => {
  it(`answers ${RUNS.toLocaleString('en')} generated payloads each with a verdict, never throws, never reaches the prototype chain`, async () => {
    const { core, device, errors } = await realLaneCore();
    const before = prototypeSnapshot();
    const tally = new Map<string, number>();
    let accepted = 0;
    // Plain checks, not expect(): this runs a hundred thousand times.
    const judge = (payload: Buffer): void => {
      const verdict = core.judge(device, payload, Date.now());
      if (verdict.accepted + verdict.rejections.length === 0) throw new Error('a payload got no answer');
      for (const rejection of verdict.rejections) {
        if (!Object.hasOwn(REJECTION_REASONS, rejection.reason) || rejection.reason === 'internal' || rejection.detail.length === 0)
          throw new Error(`unexpected rejection ${rejection.reason}: ${rejection.detail}`);
        tally.set(rejection.reason, (tally.get(rejection.reason) ?? 0) + 1);
      }
      accepted += verdict.accepted;
      if (({} as Record<string, unknown>).polluted !== undefined) throw new Error('Object.prototype was polluted');
    };
    fc.assert(fc.property(hostilePayload, judge), { numRuns: RUNS });
    fc.assert(fc.property(hugePayload, judge), { numRuns: HUGE_RUNS });

    expect(prototypeSnapshot()).toBe(before);
    expect(errors, 'no reading failed in the rule engine either').toEqual([]);
    // The generators reach the interesting answers, not just one: each of these reasons came up.
    for (const reason of ['decode', 'schema', 'unknown_metric', 'type', 'unit', 'future_timestamp', 'past_timestamp', 'too_large']) {
      expect(tally.get(reason) ?? 0, `generated payloads refused as ${reason}`).toBeGreaterThan(0);
    }
    expect(accepted, 'some generated readings are valid and accepted').toBeGreaterThan(0);
    console.info(
      `hostile-input fuzz: ${(RUNS + HUGE_RUNS).toLocaleString('en')} payloads, 0 crashes, ${accepted} readings accepted, rejections: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`,
    );
  }, 180_000);

  it('refuses every Object.prototype name as a metric, a unit key or a unit, in single readings and in backlogs', async () => {
    const { core, device } = await realLaneCore();
    for (const name of PROTOTYPE_NAMES) {
      const raw = (where: string, inner: string): Buffer => Buffer.from(`{${where}}`.replace('INNER', inner));
      const cases: Array<[Buffer, RegExp]> = [
        [raw('"metrics":{INNER}', `"${name}":1`), /not a metric of profile dust-collector/],
        [raw('"readings":[{"metrics":{INNER}}]', `"${name}":1`), /readings\[0\]\.metrics\.[^:]+: not a metric/],
        [raw('"metrics":{"hopper_temp":1},"units":{INNER}', `"${name}":"°C"`), /units\.[^:]+: not a metric/],
        [raw('"metrics":{"hopper_temp":1},"units":{INNER}', `"hopper_temp":"${name}"`), /cannot convert/],
        [raw('"readings":[{"metrics":{"hopper_temp":1}}],"units":{INNER}', `"hopper_temp":"${name}"`), /cannot convert/],
      ];
      for (const [payload, detail] of cases) {
        const verdict = core.judge(device, payload, Date.now());
        expect(verdict.accepted, `${payload}`).toBe(0);
        expect(verdict.rejections, `${payload}`).toHaveLength(1);
        expect(verdict.rejections[0]?.reason, `${payload}`).toMatch(/^(unknown_metric|unit)$/);
        expect(verdict.rejections[0]?.detail, `${payload}`).toMatch(detail);
      }
    }
  });

  it('bounds device times both ways and describes times no Date can hold', async () => {
    const { core, device } = await realLaneCore();
    const now = Date.UTC(2026, 10, 22, 8);
    const judge = (ts: number | string) => core.judge(device, Buffer.from(JSON.stringify({ ts, metrics: { hopper_temp: 40 } })), now);
    expect(judge(8_700_000_000_000_000).rejections[0]).toEqual({
      reason: 'future_timestamp',
      detail: expect.stringMatching(/^seq -: 8700000000000000 ms is \d+ s ahead of the gateway \(limit 300 s\)$/),
    });
    expect(judge('0000-01-01T00:00:00Z').rejections[0]).toEqual({
      reason: 'past_timestamp',
      detail: expect.stringMatching(/^seq -: 0000-01-01T00:00:00\.000Z is \d+ s behind the gateway \(limit 7776000 s\)$/),
    });
    expect(judge(now - 89 * 86_400_000).accepted).toBe(1);
    expect(judge(now - 91 * 86_400_000).rejections[0]?.reason).toBe('past_timestamp');
    expect(judge(now + 4 * 60_000).accepted).toBe(1);
    expect(judge(now + 6 * 60_000).rejections[0]?.reason).toBe('future_timestamp');
  });
});
