import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Alarm, AlarmEvent, Reading } from '../../../../rules/src/index.js';
import { HOPPER_ALARM } from '../../../../test/support/hopper-alarm.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { openStore } from '../../store/open-store.js';
import { createSpoolQueue } from '../../store/spool-queue.js';
import { createWriteBuffer } from '../../store/write-buffer.js';
import { createInfluxSink, type InfluxSink, type InfluxSinkDeps, type RefusedPoint } from './influx-sink.js';
import { createInfluxV1Writer } from './influx-writer.js';
import type { PointQueue } from './point-queue.js';

type Mode = 'up' | 'down' | 'hold';

/**
 * A real HTTP server answering as InfluxDB 1.x does: 204 for a write it takes, 400 with its error JSON for a
 * batch holding a point it cannot take (a line with `bad=`: nothing of that batch stored), 503 when `down`;
 * `hold` keeps the answer until `release`.
 */
async function fakeInflux() {
  const state = {
    mode: 'up' as Mode,
    /** Every write request's lines, in the order they came. */
    writes: [] as string[][],
    /** Lines stored (written by a request answered 204). */
    stored: [] as string[],
    queries: [] as string[],
    inFlight: 0,
    peak: 0,
    held: [] as Array<() => void>,
  };
  const server: Server = createServer((request, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '', 'http://influx');
      if (url.pathname === '/query') {
        state.queries.push(url.searchParams.get('q') ?? '');
        if (state.mode === 'down') response.writeHead(503).end('{"error":"starting"}');
        else response.writeHead(200).end('{"results":[{"statement_id":0}]}');
        return;
      }
      const lines = Buffer.concat(chunks).toString().split('\n');
      state.writes.push(lines);
      state.inFlight += 1;
      state.peak = Math.max(state.peak, state.inFlight);
      const answer = (): void => {
        state.inFlight -= 1;
        if (state.mode === 'down') response.writeHead(503).end('{"error":"timeout"}');
        else if (lines.some((line) => line.includes('bad='))) response.writeHead(400).end('{"error":"partial write: field type conflict"}');
        else {
          state.stored.push(...lines);
          response.writeHead(204).end();
        }
      };
      if (state.mode === 'hold') state.held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    release(mode: Mode = 'up') {
      state.mode = mode;
      for (const answer of state.held.splice(0)) answer();
    },
  };
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function until(condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const T = Date.parse('2026-11-22T08:00:00Z');
const reading = (n: number, more: Record<string, number> = {}): Reading => ({
  site: 'site-a',
  device: 'dc-01',
  profile: 'dust-collector',
  ts: T + n,
  metrics: { n, ...more },
});
/** The reading numbers of lines (`n=<number>`). */
const numbers = (lines: string[]): number[] => lines.map((line) => Number(/[ ,]n=(\d+)/.exec(line)?.[1] ?? Number.NaN));

interface Setup {
  batchSize?: number;
  flushIntervalMs?: number;
  maxQueuedPoints?: number;
  maxInFlight?: number;
  queue?: PointQueue;
  closeFlushMs?: number;
}

async function sinkFor(url: string, setup: Setup = {}) {
  const metrics = createGatewayMetrics({ processMetrics: false });
  const logs: Array<{ level: number; msg: string }> = [];
  const log = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const refused: RefusedPoint[] = [];
  const deps: InfluxSinkDeps = {
    writer: createInfluxV1Writer({ url, database: 'risk', timeoutMs: 2_000 }),
    batchSize: setup.batchSize ?? 3,
    flushIntervalMs: setup.flushIntervalMs ?? 60_000,
    maxQueuedPoints: setup.maxQueuedPoints ?? 1_000,
    maxInFlight: setup.maxInFlight ?? 1,
    metrics,
    log,
    onRefused: (points) => refused.push(...points),
    ...(setup.queue ? { queue: setup.queue } : {}),
    ...(setup.closeFlushMs === undefined ? {} : { closeFlushMs: setup.closeFlushMs }),
  };
  const sink: InfluxSink = createInfluxSink(deps);
  cleanup.push(() => sink.close());
  const count = async (metric: 'sinkWritten' | 'sinkFailed') =>
    (await metrics[metric].get()).values.find((v) => v.labels.sink === 'influxdb')?.value ?? 0;
  const dropped = async (reason: string) =>
    (await metrics.sinkDropped.get()).values.find((v) => v.labels.reason === reason && v.labels.sink === 'influxdb')?.value ?? 0;
  const queuedGauge = async () => (await metrics.sinkQueued.get()).values.find((v) => v.labels.sink === 'influxdb')?.value;
  return { sink, refused, logs, count, dropped, queuedGauge, messages: () => logs.map((l) => l.msg) };
}

const spool = (): PointQueue =>
  createSpoolQueue(
    openStore({ dataDir: mkdtempSync(join(tmpdir(), 'influx-sink-')), synchronous: 'normal' }),
    { maxPoints: 1_000, maxAgeMs: 86_400_000 },
    Date.now,
  );

const ALARM: Alarm = { ...HOPPER_ALARM, seq: 1, previousSeverity: null, value: 85, message: 'hot' };
const alarmEvent: AlarmEvent = { type: 'alarm.raised', id: 'evt_1', timestamp: '2026-11-22T08:00:03.000Z', data: { alarm: ALARM } };

describe('InfluxDB sink', () => {
  it('is not ready before it has reached InfluxDB; start creates the database and makes it ready', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url);
    expect(sink.name).toBe('influxdb');
    expect(sink.status()).toEqual({ name: 'influxdb', ready: false, reason: 'not yet connected', queued: 0, dropped: 0 });
    await sink.start();
    expect(influx.state.queries).toEqual(['CREATE DATABASE "risk"']);
    expect(sink.status()).toEqual({ name: 'influxdb', ready: true, reason: null, queued: 0, dropped: 0 });
  });

  it('writes a full batch at once, oldest first; what is less than a batch waits for the flush interval', async () => {
    const influx = await fakeInflux();
    const { sink, count, queuedGauge } = await sinkFor(influx.url, { batchSize: 3, flushIntervalMs: 500 });
    await sink.start();
    for (let n = 0; n < 5; n += 1) sink.writeTelemetry(reading(n));
    await until(() => influx.state.writes.length === 1);
    expect(numbers(influx.state.writes[0] as string[])).toEqual([0, 1, 2]);
    expect(sink.status().queued).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(influx.state.writes).toHaveLength(1);
    await until(() => influx.state.writes.length === 2);
    expect(numbers(influx.state.writes[1] as string[])).toEqual([3, 4]);
    await sink.flush();
    expect(sink.status().queued).toBe(0);
    expect(await count('sinkWritten')).toBe(5);
    expect(await queuedGauge()).toBe(0);
  });

  it('a reading with no fields is no point; alarm events go ahead of telemetry', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url, { batchSize: 10 });
    await sink.start();
    sink.writeTelemetry({ ...reading(0), metrics: {} });
    expect(sink.status().queued).toBe(0);
    sink.writeTelemetry(reading(1));
    sink.writeAlarmEvent(alarmEvent);
    await sink.flush();
    expect(influx.state.writes).toHaveLength(1);
    const [first, second] = influx.state.writes[0] as [string, string];
    expect(first).toMatch(/^alarm_events,/);
    expect(numbers([second])).toEqual([1]);
  });

  it('alarm events spooled elsewhere start a write at once, without waiting for the interval', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url, { batchSize: 10 });
    await sink.start();
    sink.writeTelemetry(reading(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(influx.state.writes).toHaveLength(0);
    sink.alarmEventsSpooled(0);
    await until(() => influx.state.stored.length === 1);
  });

  it('of a refused batch, only the points InfluxDB refuses go to the quarantine, with its words; the rest is stored', async () => {
    const influx = await fakeInflux();
    const { sink, refused, count, dropped, messages } = await sinkFor(influx.url, { batchSize: 8 });
    await sink.start();
    for (let n = 0; n < 8; n += 1) sink.writeTelemetry(reading(n, n === 2 || n === 5 ? { bad: 1 } : {}));
    await sink.flush();
    expect(numbers(refused.map((r) => r.line))).toEqual([2, 5]);
    for (const point of refused)
      expect(point.reason).toBe('InfluxDB write failed with HTTP 400: {"error":"partial write: field type conflict"}');
    expect(numbers([...new Set(influx.state.stored)]).sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 6, 7]);
    // each half is written again until each refusal is one point: 8 → 4 (0-3) → 2 (0-1) and 2 (2-3) → 1+1; 4 (4-7) → 2 (4-5) → 1+1, 2 (6-7)
    expect(influx.state.writes.map((lines) => lines.length)).toEqual([8, 4, 2, 2, 1, 1, 4, 2, 1, 1, 2]);
    expect(await count('sinkWritten')).toBe(6);
    expect(await dropped('rejected')).toBe(2);
    expect(await count('sinkFailed')).toBe(0);
    expect(messages()).toContain('influxdb refused points');
    expect(sink.status()).toMatchObject({ ready: true, reason: null, queued: 0 });
  });

  it('a point line protocol cannot write is refused at once, quarantined and counted; nothing is thrown at the lane', async () => {
    const influx = await fakeInflux();
    const { sink, refused, count, dropped, messages } = await sinkFor(influx.url, { batchSize: 10 });
    await sink.start();
    sink.writeTelemetry(reading(0));
    expect(() => sink.writeTelemetry(reading(1, { bad: Number.POSITIVE_INFINITY }))).not.toThrow();
    sink.writeTelemetry(reading(2));
    // a rate of change beyond the doubles: the event is stored, its value as text
    sink.writeAlarmEvent({ ...alarmEvent, data: { alarm: { ...ALARM, value: Number.NEGATIVE_INFINITY, threshold: Number.NaN } } });
    await sink.flush();
    expect(refused).toEqual([
      {
        line: `telemetry,device=${reading(1).device},site=${reading(1).site} ts=${reading(1).ts}`,
        reason: "invalid float value for field 'bad': Infinity",
      },
    ]);
    expect(await dropped('rejected')).toBe(1);
    expect(messages()).toContain('point not writable');
    const [event, ...telemetry] = influx.state.writes[0] as string[];
    expect(event).toMatch(/,value_text="-Infinity" /);
    expect(event).not.toMatch(/threshold=/);
    expect(numbers(telemetry)).toEqual([0, 2]);
    expect(await count('sinkWritten')).toBe(3);
  });

  it('from spool rows of several points, a refused batch is split down to the refused points all the same', async () => {
    const influx = await fakeInflux();
    const db = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'influx-sink-')), synchronous: 'normal' });
    const later = createWriteBuffer();
    // rows of four points: the eight readings of one lane commit are two rows
    const queue = createSpoolQueue(db, { maxPoints: 1_000, maxAgeMs: 86_400_000, batchSize: 8 }, Date.now, later);
    const { sink, refused, count } = await sinkFor(influx.url, { batchSize: 8, queue });
    await sink.start();
    later.collecting(() => {
      for (let n = 0; n < 8; n += 1) sink.writeTelemetry(reading(n, n === 2 || n === 5 ? { bad: 1 } : {}));
    });
    db.transaction(() => later.apply())();
    expect(db.prepare('SELECT n FROM spool_telemetry ORDER BY id').pluck().all()).toEqual([4, 4]);
    await sink.flush();
    expect(numbers(refused.map((r) => r.line))).toEqual([2, 5]);
    expect(numbers([...new Set(influx.state.stored)]).sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 6, 7]);
    // the first request carried the two rows as they were stored: eight points, in order
    expect(numbers(influx.state.writes[0] as string[])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(await count('sinkWritten')).toBe(6);
    expect(db.prepare('SELECT (SELECT count(*) FROM spool) + (SELECT count(*) FROM spool_telemetry)').pluck().get()).toBe(0);
  });

  it("while the lane's commit waits, a full batch counted but not committed leaves the event loop free; written once committed", async () => {
    const influx = await fakeInflux();
    const db = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'influx-sink-')), synchronous: 'normal' });
    const later = createWriteBuffer();
    const spool = createSpoolQueue(db, { maxPoints: 1_000, maxAgeMs: 86_400_000, batchSize: 4 }, Date.now, later);
    // the spool, with its takes counted
    let takes = 0;
    const queue = Object.assign(Object.create(spool) as typeof spool, {
      take: (max: number) => {
        takes += 1;
        return spool.take(max);
      },
    });
    const { sink, count } = await sinkFor(influx.url, { batchSize: 4, queue });
    await sink.start();
    // judged, and the commit left waiting: twelve points counted, none in the spool yet
    later.collecting(() => {
      for (let n = 0; n < 12; n += 1) sink.writeTelemetry(reading(n));
    });
    later.keep();
    // a drain that found nothing committed pumped again at once, without end: no timer fired again (this test hung,
    // as the worker did in a reconnect storm)
    const turned = await Promise.race([
      new Promise((resolve) => setTimeout(() => resolve('turned'), 20)),
      new Promise((resolve) => setTimeout(() => resolve('starved'), 2_000).unref()),
    ]);
    expect(turned).toBe('turned');
    // a flush meanwhile (a drain request) ends at once instead of asking the spool again round after round
    const takesBefore = takes;
    await sink.flush();
    expect(takes - takesBefore).toBeLessThanOrEqual(2);
    expect(influx.state.stored).toEqual([]);
    db.transaction(() => later.apply())();
    await sink.flush();
    expect(numbers([...new Set(influx.state.stored)])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(await count('sinkWritten')).toBe(12);
  });

  it('a batch refused as a whole with no single point to blame stores nothing and quarantines each point', async () => {
    const influx = await fakeInflux();
    const { sink, refused } = await sinkFor(influx.url, { batchSize: 2 });
    await sink.start();
    sink.writeTelemetry(reading(1, { bad: 1 }));
    sink.writeTelemetry(reading(2, { bad: 1 }));
    await sink.flush();
    expect(numbers(refused.map((r) => r.line))).toEqual([1, 2]);
    expect(influx.state.stored).toEqual([]);
  });

  it('while InfluxDB is down the points wait, not ready and why; they are written in order once it is back', async () => {
    const influx = await fakeInflux();
    const { sink, count, messages, queuedGauge } = await sinkFor(influx.url, { batchSize: 3 });
    await sink.start();
    influx.state.mode = 'down';
    for (let n = 0; n < 3; n += 1) sink.writeTelemetry(reading(n));
    await until(() => sink.status().ready === false);
    expect(sink.status()).toEqual({
      name: 'influxdb',
      ready: false,
      reason: 'InfluxDB write failed with HTTP 503: {"error":"timeout"}',
      queued: 3,
      dropped: 0,
    });
    expect(await count('sinkFailed')).toBe(1);
    expect(await queuedGauge()).toBe(3);
    expect(messages()).toContain('influxdb write failed');
    for (let n = 3; n < 6; n += 1) sink.writeTelemetry(reading(n));
    // flush does not wait for a retry that is pending
    await sink.flush();
    expect(influx.state.stored).toEqual([]);
    influx.state.mode = 'up';
    await until(() => influx.state.stored.length === 6);
    await sink.flush();
    expect(numbers(influx.state.stored)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sink.status()).toEqual({ name: 'influxdb', ready: true, reason: null, queued: 0, dropped: 0 });
    expect(await count('sinkWritten')).toBe(6);
    expect(messages()).toContain('influxdb writes recovered');
  });

  it('with the durable spool it stays ready while InfluxDB is down, and says it is spooling', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url, { batchSize: 2, queue: spool() });
    await sink.start();
    influx.state.mode = 'down';
    sink.writeTelemetry(reading(1));
    sink.writeTelemetry(reading(2));
    await until(() => sink.status().reason !== null);
    expect(sink.status()).toEqual({
      name: 'influxdb',
      ready: true,
      reason: 'degraded: spooling 2 points (InfluxDB write failed with HTTP 503: {"error":"timeout"})',
      queued: 2,
      dropped: 0,
    });
  });

  it('not reachable at start: not ready with the reason, and the database is created before the first write', async () => {
    const influx = await fakeInflux();
    influx.state.mode = 'down';
    const { sink, messages } = await sinkFor(influx.url, { batchSize: 1 });
    await sink.start();
    expect(sink.status()).toMatchObject({ ready: false, reason: 'InfluxDB CREATE DATABASE failed with HTTP 503: {"error":"starting"}' });
    expect(messages()).toContain('influxdb not reachable at start; will retry');
    influx.state.mode = 'up';
    sink.writeTelemetry(reading(1));
    await until(() => influx.state.stored.length === 1);
    expect(influx.state.queries).toEqual(['CREATE DATABASE "risk"', 'CREATE DATABASE "risk"']);
    await until(() => sink.status().ready);
  });

  it('drops the oldest telemetry beyond its bound and counts it', async () => {
    const influx = await fakeInflux();
    const { sink, dropped } = await sinkFor(influx.url, { batchSize: 100, maxQueuedPoints: 3 });
    await sink.start();
    for (let n = 0; n < 5; n += 1) sink.writeTelemetry(reading(n));
    expect(sink.status()).toMatchObject({ queued: 3, dropped: 2 });
    await sink.flush();
    expect(numbers(influx.state.stored)).toEqual([2, 3, 4]);
    expect(await dropped('queue_full')).toBe(2);
    for (let n = 5; n < 9; n += 1) sink.writeTelemetry(reading(n));
    await sink.flush();
    expect(await dropped('queue_full')).toBe(3);
  });

  it('writes up to maxInFlight batches at once while full batches wait, never more', async () => {
    for (const maxInFlight of [1, 2]) {
      const influx = await fakeInflux();
      const { sink } = await sinkFor(influx.url, { batchSize: 2, maxInFlight });
      await sink.start();
      influx.state.mode = 'hold';
      for (let n = 0; n < 8; n += 1) sink.writeTelemetry(reading(n));
      await until(() => influx.state.held.length === maxInFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(influx.state.peak, `maxInFlight ${maxInFlight}`).toBe(maxInFlight);
      influx.release();
      await sink.flush();
      expect(numbers(influx.state.stored).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
  });

  it('one writer of two failing puts both batches back in their old order, written again oldest first', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url, { batchSize: 2, maxInFlight: 2 });
    await sink.start();
    influx.state.mode = 'hold';
    for (let n = 0; n < 6; n += 1) sink.writeTelemetry(reading(n));
    await until(() => influx.state.held.length === 2);
    influx.release('down');
    await until(() => sink.status().ready === false);
    influx.state.mode = 'up';
    await until(() => influx.state.stored.length === 6);
    expect(numbers(influx.state.stored)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('close writes everything that waits, batch by batch', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url, { batchSize: 2, flushIntervalMs: 60_000 });
    await sink.start();
    influx.state.mode = 'hold';
    for (let n = 0; n < 5; n += 1) sink.writeTelemetry(reading(n));
    await until(() => influx.state.held.length === 1);
    const closing = sink.close();
    influx.state.mode = 'up';
    influx.release();
    await closing;
    expect(numbers(influx.state.stored)).toEqual([0, 1, 2, 3, 4]);
    expect(sink.status().queued).toBe(0);
  });

  it("a durable spool's backlog is written at shutdown for closeFlushMs at most; the rest waits in the spool for the next start", async () => {
    const influx = await fakeInflux();
    const queue = spool();
    const { sink, messages } = await sinkFor(influx.url, { batchSize: 3, queue, closeFlushMs: 150 });
    await sink.start();
    influx.state.mode = 'hold';
    for (let n = 0; n < 60; n += 1) sink.writeTelemetry(reading(n));
    // InfluxDB answers a write every 50 ms: the 20 batches would take a second
    const answering = setInterval(() => influx.state.held.shift()?.(), 50);
    cleanup.push(() => clearInterval(answering));
    const started = Date.now();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(600);
    expect(messages()).toContain('shutdown: points left in the spool for the next start');
    const left = queue.waiting;
    expect(left).toBeGreaterThan(30);
    expect(influx.state.stored.length + left).toBe(60);
  });

  it('InfluxDB down at shutdown: memory says the points are lost, the spool keeps them', async () => {
    for (const [queue, message] of [
      [undefined, 'influxdb unreachable at shutdown; queued points lost'],
      [spool(), 'influxdb unreachable at shutdown; points kept in the spool'],
    ] as const) {
      const influx = await fakeInflux();
      const { sink, messages } = await sinkFor(influx.url, { batchSize: 10, ...(queue ? { queue } : {}) });
      await sink.start();
      influx.state.mode = 'down';
      for (let n = 0; n < 3; n += 1) sink.writeTelemetry(reading(n));
      await sink.close();
      expect(messages()).toContain(message);
      expect(sink.status().queued).toBe(3);
      expect(influx.state.writes).toHaveLength(1);
    }
  });

  it('close during a pending retry stops retrying and tries once more', async () => {
    const influx = await fakeInflux();
    const { sink } = await sinkFor(influx.url, { batchSize: 1 });
    await sink.start();
    influx.state.mode = 'down';
    sink.writeTelemetry(reading(1));
    await until(() => sink.status().ready === false);
    const before = influx.state.writes.length;
    influx.state.mode = 'up';
    await sink.close();
    expect(influx.state.writes.length).toBe(before + 1);
    expect(numbers(influx.state.stored)).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(influx.state.writes.length).toBe(before + 1);
  });
});
