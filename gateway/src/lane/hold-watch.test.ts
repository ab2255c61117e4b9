import { describe, expect, it } from 'vitest';
import type { VerdictChange } from '../../../rules/src/index.js';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { laneConfigOf } from './build-lane-core.js';
import { HOLD_NOTED_MS, watchHolds } from './hold-watch.js';
import { createInlineLane } from './inline-lane.js';
import type { HeldDevice, LaneVerdict, TelemetryLane } from './telemetry-lane.js';

const T0 = Date.parse('2026-12-03T08:00:00Z');
const SILENT_KEY = 'site-a/dc-01/device_silent';
const config = validateConfig(
  {
    influx: { mode: 'off' },
    store: { enabled: false },
    // reporting every 5 s: the profile's device_silent raises after 3 intervals, 15 s
    devices: [
      {
        id: 'dc-01',
        site: 'site-a',
        profile: 'dust-collector',
        secretHash: 'sha256$c2FsdA==$aGFzaA==',
        attributes: { reportingIntervalMs: 5_000 },
      },
      {
        id: 'dc-02',
        site: 'site-a',
        profile: 'dust-collector',
        secretHash: 'sha256$c2FsdA==$aGFzaA==',
        attributes: { reportingIntervalMs: 5_000 },
      },
    ],
    logLevel: 'silent',
  },
  '(test)',
);
const registry = createDeviceRegistry(config.devices);
const dc01 = registry.get('dc-01') as RegisteredDevice;
const dc02 = registry.get('dc-02') as RegisteredDevice;
const payload = (seq: number, ts: number): Buffer => Buffer.from(JSON.stringify({ ts, seq, metrics: { hopper_temp: 30 } }));

/** A real inline lane on a clock the test moves; `watched`: with the hold watch, as the gateway runs it. */
async function laneOnClock(watched: boolean) {
  let clock = T0;
  const changes: VerdictChange[] = [];
  const outlet = { alarmChanges: (batch: readonly VerdictChange[]) => changes.push(...batch), readingStored: () => undefined };
  const inline = await createInlineLane(
    { config: laneConfigOf(config), influxUrl: null },
    registry,
    outlet,
    createGatewayMetrics({ processMetrics: false }),
    createLogger('silent'),
    (error) => {
      throw error;
    },
  );
  const watch = watched ? watchHolds(inline, () => clock) : null;
  const lane = watch ?? inline;
  await lane.start(T0);
  /** A reading that arrives at `arrivedAt` and gets its verdict only at `judgedAt` (the lane was behind). */
  const heldReading = (seq: number, arrivedAt: number, judgedAt: number): Promise<LaneVerdict> => {
    clock = arrivedAt;
    const verdict = new Promise<LaneVerdict>((resolve) => lane.submit(dc01, payload(seq, arrivedAt), arrivedAt, resolve));
    clock = judgedAt;
    return verdict;
  };
  const silentRaised = () => changes.filter((c) => c.key === SILENT_KEY && c.verdict.status === 'true').map((c) => c.at);
  return {
    lane,
    watch,
    heldReading,
    silentRaised,
    tick: (at: number) => {
      clock = at;
      lane.tick(at);
    },
  };
}

describe('a device whose publishes wait in a lane that fell behind is not judged silent for that wait', () => {
  it('without the watch: a reading judged 20 s after it arrived leaves the device silent 21 s after it (the false alarm)', async () => {
    const { heldReading, silentRaised, tick } = await laneOnClock(false);
    expect((await heldReading(1, T0 + 1_000, T0 + 21_000)).accepted).toBe(1);
    tick(T0 + 22_000);
    expect(silentRaised()).toEqual([T0 + 22_000]);
  });

  it('with the watch: the device counts as heard until its reading was judged, and goes silent 15 s after that', async () => {
    const { heldReading, silentRaised, tick } = await laneOnClock(true);
    expect((await heldReading(1, T0 + 1_000, T0 + 21_000)).accepted).toBe(1);
    tick(T0 + 22_000);
    tick(T0 + 35_999);
    expect(silentRaised()).toEqual([]);
    // nothing since: silent 15 s after the verdict, not 15 s after the arrival, and not never
    tick(T0 + 36_000);
    expect(silentRaised()).toEqual([T0 + 36_000]);
  });

  it('with the watch: a reading judged at once changes nothing (the silence counts from its arrival)', async () => {
    const { heldReading, silentRaised, tick } = await laneOnClock(true);
    await heldReading(1, T0 + 1_000, T0 + 1_000 + HOLD_NOTED_MS - 1);
    tick(T0 + 15_999);
    expect(silentRaised()).toEqual([]);
    tick(T0 + 16_000);
    expect(silentRaised()).toEqual([T0 + 16_000]);
  });
});

describe('a device whose CONNECT the broker holds (admission) is not judged silent for that wait', () => {
  it('while it waits, and after: the silence counts from when it was let in', async () => {
    const { watch, heldReading, silentRaised, tick } = await laneOnClock(true);
    await heldReading(1, T0 + 1_000, T0 + 1_000);
    // the link drops; the device is back at 10 s, and its CONNECT waits until 24 s
    watch?.connectWaits('dc-01', T0 + 10_000);
    tick(T0 + 16_000);
    tick(T0 + 20_000);
    expect(silentRaised()).toEqual([]);
    watch?.connectDone('dc-01', T0 + 24_000);
    tick(T0 + 25_000);
    tick(T0 + 38_999);
    expect(silentRaised()).toEqual([]);
    // let in at 24 s and silent since: 15 s after that
    tick(T0 + 39_000);
    expect(silentRaised()).toEqual([T0 + 39_000]);
  });

  it('without a CONNECT waiting, the same device goes silent 15 s after its reading', async () => {
    const { heldReading, silentRaised, tick } = await laneOnClock(true);
    await heldReading(1, T0 + 1_000, T0 + 1_000);
    tick(T0 + 16_000);
    expect(silentRaised()).toEqual([T0 + 16_000]);
  });
});

/** A lane that holds every publish until the test decides it, and records what each tick was told. */
function holdingLane() {
  const waiting: Array<() => void> = [];
  const ticks: Array<{ now: number; held: readonly HeldDevice[] | undefined }> = [];
  const lane = {
    submit: (_device: RegisteredDevice, _payload: Buffer, _at: number, decided: (verdict: LaneVerdict) => void) =>
      waiting.push(() => decided({ accepted: 1, rejections: [] })),
    tick: (now: number, held?: readonly HeldDevice[]) => ticks.push({ now, held }),
  } as unknown as TelemetryLane;
  return { lane, ticks, decideNext: () => waiting.shift()?.() };
}

describe('the hold watch', () => {
  it('tells each tick the holds that ended since the last one, once, and those still going, until now', () => {
    let clock = T0;
    const { lane, ticks, decideNext } = holdingLane();
    const watched = watchHolds(lane, () => clock);
    const ignore = () => undefined;
    watched.submit(dc01, Buffer.from('{}'), T0, ignore);
    watched.submit(dc01, Buffer.from('{}'), T0 + 500, ignore);
    watched.submit(dc02, Buffer.from('{}'), T0 + 2_500, ignore);
    clock = T0 + 3_000;
    decideNext(); // dc-01's first, after 3 s: dc-01 still has one waiting
    watched.tick(T0 + 3_000);
    // dc-01 is still held, since its oldest arrival (that covers the one that ended); dc-02 waited 0.5 s only
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0, until: T0 + 3_000 }]);
    clock = T0 + 4_000;
    decideNext(); // dc-01's second: dc-01 has nothing waiting any more
    watched.tick(T0 + 4_000);
    expect(ticks.at(-1)?.held).toEqual([
      { device: 'dc-02', since: T0 + 2_500, until: T0 + 4_000 },
      { device: 'dc-01', since: T0 + 500, until: T0 + 4_000 },
    ]);
    clock = T0 + 4_100;
    decideNext(); // dc-02's, after 1.6 s
    watched.tick(T0 + 5_000);
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-02', since: T0 + 2_500, until: T0 + 4_100 }]);
    // nothing held any more: the tick is told nothing
    watched.tick(T0 + 6_000);
    expect(ticks.at(-1)).toEqual({ now: T0 + 6_000, held: undefined });
  });

  it('tells nothing of a device whose publishes overlap but each waits only briefly (its oldest waiting counts, not its first)', () => {
    let clock = T0;
    const { lane, ticks, decideNext } = holdingLane();
    const watched = watchHolds(lane, () => clock);
    // a publish every 50 ms, each judged 60 ms after it arrived: one always waits, none for long
    watched.submit(dc01, Buffer.from('{}'), T0, () => undefined);
    for (let k = 1; k <= 100; k += 1) {
      clock = T0 + 50 * k;
      watched.submit(dc01, Buffer.from('{}'), clock, () => undefined);
      clock += 10;
      decideNext();
    }
    watched.tick(clock);
    expect(ticks.at(-1)?.held).toBeUndefined();
  });

  it('tells a hold that ended also when the device already waits again on a fresh publish', () => {
    let clock = T0;
    const { lane, ticks, decideNext } = holdingLane();
    const watched = watchHolds(lane, () => clock);
    watched.submit(dc01, Buffer.from('{}'), T0, () => undefined);
    clock = T0 + 20_000;
    decideNext(); // judged after 20 s
    clock = T0 + 20_300;
    watched.submit(dc01, Buffer.from('{}'), clock, () => undefined); // waiting 0.2 s at the tick
    watched.tick(T0 + 20_500);
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0, until: T0 + 20_500 }]);
  });

  it('passes each verdict on unchanged, once', () => {
    const { lane, decideNext } = holdingLane();
    const watched = watchHolds(lane, () => T0);
    const verdicts: LaneVerdict[] = [];
    watched.submit(dc01, Buffer.from('{}'), T0, (verdict) => verdicts.push(verdict));
    decideNext();
    expect(verdicts).toEqual([{ accepted: 1, rejections: [] }]);
  });

  it('tells CONNECT holds from HOLD_NOTED_MS on, while they wait (until now) and once when they end, per device', () => {
    const { lane, ticks } = holdingLane();
    const watched = watchHolds(lane, () => T0);
    watched.connectWaits('dc-01', T0);
    watched.connectWaits('dc-01', T0 + 300); // a second connection of the same device
    watched.connectWaits('dc-02', T0 + 500);
    watched.tick(T0 + HOLD_NOTED_MS);
    // dc-02 has waited 0.5 s only
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0, until: T0 + HOLD_NOTED_MS, connecting: true }]);
    watched.connectDone('dc-01', T0 + 1_200);
    watched.connectDone('dc-02', T0 + 1_400);
    watched.tick(T0 + 1_500);
    // one connection of dc-01 still waits; dc-02's wait ended under HOLD_NOTED_MS: nothing of it
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0, until: T0 + 1_500, connecting: true }]);
    watched.connectDone('dc-01', T0 + 1_600);
    watched.tick(T0 + 2_000);
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0, until: T0 + 1_600, connecting: true }]);
    watched.tick(T0 + 3_000);
    expect(ticks.at(-1)?.held).toBeUndefined();
    // a done without a wait (a lab client, a double call) changes nothing
    watched.connectDone('dc-02', T0 + 3_100);
    watched.tick(T0 + 4_000);
    expect(ticks.at(-1)?.held).toBeUndefined();
  });

  it('tells a wait of exactly HOLD_NOTED_MS: a publish judged, a publish still waiting, a CONNECT let in', () => {
    let clock = T0;
    const { lane, ticks, decideNext } = holdingLane();
    const watched = watchHolds(lane, () => clock);
    watched.submit(dc01, Buffer.from('{}'), T0, () => undefined);
    clock = T0 + HOLD_NOTED_MS;
    decideNext();
    watched.submit(dc02, Buffer.from('{}'), T0, () => undefined);
    watched.connectWaits('dc-03', T0);
    watched.connectDone('dc-03', T0 + HOLD_NOTED_MS);
    watched.tick(T0 + HOLD_NOTED_MS);
    expect(ticks.at(-1)?.held).toEqual([
      { device: 'dc-02', since: T0, until: T0 + HOLD_NOTED_MS },
      { device: 'dc-01', since: T0, until: T0 + HOLD_NOTED_MS },
      { device: 'dc-03', since: T0, until: T0 + HOLD_NOTED_MS, connecting: true },
    ]);
  });

  it('merges the ended holds of one device between two ticks, and keeps a device held while another publish of it waits', () => {
    let clock = T0;
    const { lane, ticks, decideNext } = holdingLane();
    const watched = watchHolds(lane, () => clock);
    watched.submit(dc01, Buffer.from('{}'), T0, () => undefined);
    watched.submit(dc01, Buffer.from('{}'), T0 + 200, () => undefined);
    clock = T0 + 1_500;
    decideNext();
    clock = T0 + 1_800;
    decideNext();
    watched.tick(T0 + 2_000);
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0, until: T0 + 1_800 }]);
    // one judged late, the next still waiting (only 0.8 s) at the tick: held until the tick
    watched.submit(dc01, Buffer.from('{}'), T0 + 2_000, () => undefined);
    watched.submit(dc01, Buffer.from('{}'), T0 + 2_600, () => undefined);
    clock = T0 + 3_100;
    decideNext();
    watched.tick(T0 + 3_400);
    expect(ticks.at(-1)?.held).toEqual([{ device: 'dc-01', since: T0 + 2_000, until: T0 + 3_400 }]);
  });
});
