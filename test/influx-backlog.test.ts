import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../gateway/src/observability/metrics.js';
import { createInfluxSink } from '../gateway/src/sinks/influx/influx-sink.js';
import { createInfluxV1Writer, type InfluxWriter } from '../gateway/src/sinks/influx/influx-writer.js';
import { type PrivateInfluxd, queryInfluxAt, startPrivateInfluxd } from './helpers/private-influxd.js';
import { eventually, freshDatabase } from './helpers/test-gateway.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');

/**
 * The real 1.x writer to `url`, counting what the sink asks of it: every attempt (prepare or write), the first point
 * of each write tried and of each that succeeded, and how many were in flight at once. The outage itself is a stopped
 * influxd.
 */
function countingWriter(url: string, database: string) {
  const real = createInfluxV1Writer({ url, database, timeoutMs: 10_000 });
  const state = { inFlight: 0, maxInFlight: 0, requests: 0, attempts: 0, tried: [] as number[], firstPointOf: [] as number[] };
  const writer: InfluxWriter = {
    target: real.target,
    prepare() {
      state.attempts += 1;
      return real.prepare();
    },
    ping: () => real.ping(),
    async write(lines) {
      state.attempts += 1;
      const firstPoint = Number((lines[0] as string).split(' ').at(-1));
      state.tried.push(firstPoint);
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        await real.write(lines);
        state.requests += 1;
        state.firstPointOf.push(firstPoint);
      } finally {
        state.inFlight -= 1;
      }
    },
  };
  return { writer, state };
}

/**
 * A started sink with 1,000-point batches and 2 in flight, with `points` readings queued in it; `beforeQueue`
 * runs between the sink's start and the queueing.
 */
async function sinkWithBacklog(writer: InfluxWriter, points: number, beforeQueue?: () => Promise<void>) {
  const sink = createInfluxSink({
    writer,
    batchSize: 1_000,
    flushIntervalMs: 50,
    maxQueuedPoints: 50_000,
    maxInFlight: 2,
    metrics: createGatewayMetrics({ processMetrics: false }),
    log: createLogger('silent'),
  });
  await sink.start();
  await beforeQueue?.();
  for (let i = 0; i < points; i += 1) {
    const reading = { site: 's', device: `d${i % 50}`, profile: 'dust-collector', ts: T0 + i * 1_000, metrics: { hopper_temp: i % 90 } };
    sink.writeTelemetry(reading);
  }
  return sink;
}

describe('the InfluxDB sink after an outage (a real influxd, stopped and started again)', () => {
  let influxd: PrivateInfluxd;
  beforeAll(async () => {
    influxd = await startPrivateInfluxd({ running: false });
  });
  beforeEach(async () => {
    await influxd.stop();
  });
  afterAll(() => influxd?.dispose());

  it('keeps what arrived while InfluxDB was down and, once it is back, writes the backlog two batches at a time', async () => {
    const database = freshDatabase();
    const { writer, state } = countingWriter(influxd.url, database);
    const sink = await sinkWithBacklog(writer, 20_000);
    await eventually('a refused write', () => (state.attempts > 1 ? true : undefined));
    expect(sink.status()).toMatchObject({ ready: false, queued: 20_000 });
    expect(state.requests).toBe(0);

    await influxd.start();
    await eventually('the backlog written', async () => (sink.status().queued === 0 && state.inFlight === 0 ? true : undefined), 40_000);
    await sink.flush();
    const [row] = await queryInfluxAt(influxd.url, database, 'SELECT count(hopper_temp) AS n FROM telemetry');
    expect(row.n).toBe(20_000);
    expect(state.requests).toBe(20);
    expect(state.maxInFlight).toBe(2);
    expect(sink.status()).toMatchObject({ ready: true, queued: 0 });
    await sink.close();
  });

  it('puts the batches whose writes failed back at the head of the queue, oldest first: the first tried once the server is back', async () => {
    const database = freshDatabase();
    const { writer, state } = countingWriter(influxd.url, database);
    // The sink has met the server (its database exists), then the server stops: batches are taken and refused.
    await influxd.start();
    const sink = await sinkWithBacklog(writer, 6_000, () => influxd.stop());
    // Two batches were taken together and both refused.
    await eventually('two writes refused at once', () => (state.maxInFlight === 2 && state.inFlight === 0 ? true : undefined));
    const triedBefore = state.tried.length;
    await influxd.start();
    await eventually('the backlog written', async () => (sink.status().queued === 0 && state.inFlight === 0 ? true : undefined), 40_000);
    await sink.flush();
    // The first writes tried once the server is back are the two that had failed: back at the head of the queue. (Which
    // succeeds first is the server's: a write it refuses while it comes up goes back to the head, and the next batch,
    // sent beside its retry, may be answered before it.)
    expect(state.tried.slice(triedBefore, triedBefore + 2).sort((a, b) => a - b)).toEqual([T0, T0 + 1_000_000]);
    // Every batch written once: 1000 points apart.
    expect([...state.firstPointOf].sort((a, b) => a - b)).toEqual(Array.from({ length: 6 }, (_, i) => T0 + i * 1_000_000));
    const [row] = await queryInfluxAt(influxd.url, database, 'SELECT count(hopper_temp) AS n FROM telemetry');
    expect(row.n).toBe(6_000);
    await sink.close();
  });

  it('closing while InfluxDB is down gives up at once, its backlog still counted as queued', async () => {
    const { writer, state } = countingWriter(influxd.url, freshDatabase());
    const sink = await sinkWithBacklog(writer, 5_000);
    await eventually('a first attempt', async () => (state.attempts > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const beforeClose = state.attempts;
    await sink.close();
    // One more attempt at close, not a retry loop; nothing was written.
    expect(state.attempts - beforeClose).toBe(1);
    expect(state.requests).toBe(0);
    expect(sink.status().queued).toBe(5_000);
  });
});
