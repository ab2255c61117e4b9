import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { createLogger } from '../observability/logger.js';
import { laneConfigOf } from './build-lane-core.js';
import type { ToLane } from './lane-messages.js';
import { createWorkerLane } from './worker-lane.js';

const config = validateConfig(
  {
    influx: { mode: 'off' },
    store: { enabled: false },
    devices: [{ id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' }],
    logLevel: 'silent',
  },
  '(test)',
);
const device = createDeviceRegistry(config.devices).get('dc-01') as RegisteredDevice;

/** A worker that answers only when the test says, on a clock the test moves (the lane's `delay` reads performance.now). */
async function laneOnFakeWorker() {
  const worker = new EventEmitter() as EventEmitter & { postMessage(message: ToLane): void; terminate(): Promise<number> };
  const batches: number[] = [];
  const posted: ToLane[] = [];
  worker.postMessage = (message) => {
    posted.push(message);
    if (message.type === 'batch') batches.push(message.devices.length);
  };
  worker.terminate = async () => 0;
  const started = createWorkerLane(
    { config: laneConfigOf(config), influxUrl: null },
    { alarmChanges: () => undefined, readingStored: () => undefined },
    createLogger('silent'),
    () => undefined,
    () => worker as unknown as Worker,
  );
  worker.emit('message', { type: 'ready' });
  const lane = await started;
  /** `count` publishes submitted and sent as one batch. */
  const send = (count: number): void => {
    for (let i = 0; i < count; i += 1) lane.submit(device, Buffer.from('{}'), 0, () => undefined);
    lane.tick(0); // sends what is pending at once
  };
  /** The worker answers the oldest batch `afterMs` from now. */
  const answer = (afterMs: number): void => {
    vi.advanceTimersByTime(afterMs);
    const size = batches.shift() ?? 0;
    worker.emit('message', { type: 'verdicts', batches: 1, accepted: new Array<number>(size).fill(1), rejections: [] });
  };
  return { lane, send, answer, posted };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance', 'Date', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the worker lane's estimate of the wait (TelemetryLane.delay)", () => {
  it('is what waits times the pace learnt while busy, or the oldest wait if longer', async () => {
    const { lane, send, answer } = await laneOnFakeWorker();
    expect(lane.delay()).toBe(0);
    // busy: three batches of 100 wait; the worker answers one every 50 ms (0.5 ms a publish)
    send(100);
    send(100);
    send(100);
    answer(50);
    answer(50);
    // 100 still wait, 50 ms behind the 0.5 ms pace the second answer showed
    expect(lane.delay()).toBeCloseTo(100, 0);
    answer(50);
    expect(lane.delay()).toBe(0);
    // submitted in this turn, not sent yet: they wait too
    for (let i = 0; i < 200; i += 1) lane.submit(device, Buffer.from('{}'), 0, () => undefined);
    expect(lane.delay()).toBeCloseTo(100, 0);
    lane.tick(0);
    answer(0);
    // 1,000 sent at once: 1,000 × 0.5 ms
    send(1_000);
    expect(lane.delay()).toBeCloseTo(500, 0);
    vi.advanceTimersByTime(800);
    expect(lane.delay()).toBeCloseTo(800, 0);
    answer(0);
  });

  it('forgets a pace learnt in one stall once the lane was not busy for a while: the light load after it is not held up', async () => {
    const { lane, send, answer } = await laneOnFakeWorker();
    send(10);
    send(10);
    answer(10);
    // a stall of 2 s while a batch waits: 200 ms a publish
    answer(2_000);
    send(300);
    expect(lane.delay()).toBeGreaterThan(10_000);
    answer(5);
    // light load from now on: a batch at a time, each answered before the next (nothing learnt)
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(1_000);
      send(300);
      answer(5);
    }
    send(300);
    // only the oldest wait counts now: none yet
    expect(lane.delay()).toBe(0);
    answer(5);
  });
});

describe("alarm events the broker side spooled (in the alarm book's commit)", () => {
  it('are told to the worker after the turn that spooled them, once, with their sum', async () => {
    const { lane, posted } = await laneOnFakeWorker();
    const told = () => posted.filter((message) => message.type === 'alarmSpooled');
    lane.alarmEventsSpooled(1);
    lane.alarmEventsSpooled(2);
    // not while the commit that spooled them runs: the webhook's request leaves first
    expect(told()).toEqual([]);
    await Promise.resolve();
    expect(told()).toEqual([{ type: 'alarmSpooled', count: 3 }]);
    lane.alarmEventsSpooled(4);
    await Promise.resolve();
    expect(told()).toEqual([
      { type: 'alarmSpooled', count: 3 },
      { type: 'alarmSpooled', count: 4 },
    ]);
  });
});
