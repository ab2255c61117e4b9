import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../gateway/src/observability/metrics.js';
import { createInfluxSink } from '../gateway/src/sinks/influx/influx-sink.js';
import { createInfluxV1Writer, type InfluxWriter } from '../gateway/src/sinks/influx/influx-writer.js';
import { queryInflux } from './helpers/influx-query.js';
import { eventually, freshDatabase } from './helpers/test-gateway.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');

/** The suite's real influxd behind a switch: while `down`, every request fails as an unreachable server does. */
function switchableWriter(database: string) {
  const real = createInfluxV1Writer({ url: inject('influxUrl'), database, timeoutMs: 10_000 });
  const state = { down: true, inFlight: 0, maxInFlight: 0, requests: 0, attempts: 0 };
  const writer: InfluxWriter = {
    target: real.target,
    prepare() {
      state.attempts += 1;
      return state.down ? Promise.reject(new Error('connect ECONNREFUSED')) : real.prepare();
    },
    ping: () => real.ping(),
    async write(lines) {
      state.attempts += 1;
      if (state.down) throw new Error('connect ECONNREFUSED');
      state.requests += 1;
      state.inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        await real.write(lines);
      } finally {
        state.inFlight -= 1;
      }
    },
  };
  return { writer, state };
}

/** A started sink with 1,000-point batches and 2 in flight, with `points` readings queued in it. */
async function sinkWithBacklog(writer: InfluxWriter, points: number) {
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
  for (let i = 0; i < points; i += 1) {
    const reading = { site: 's', device: `d${i % 50}`, profile: 'dust-collector', ts: T0 + i * 1_000, metrics: { hopper_temp: i % 90 } };
    sink.writeTelemetry(reading);
  }
  return sink;
}

describe('the InfluxDB sink after an outage', () => {
  it('keeps what arrived while InfluxDB was down and, once it is back, writes the backlog two batches at a time', async () => {
    const database = freshDatabase();
    const { writer, state } = switchableWriter(database);
    const sink = await sinkWithBacklog(writer, 20_000);
    expect(sink.status()).toMatchObject({ ready: false, queued: 20_000 });

    state.down = false;
    await eventually('the backlog written', async () => (sink.status().queued === 0 && state.inFlight === 0 ? true : undefined), 30_000);
    await sink.flush();
    const [row] = await queryInflux(database, 'SELECT count(hopper_temp) AS n FROM telemetry');
    expect(row.n).toBe(20_000);
    expect(state.requests).toBe(20);
    expect(state.maxInFlight).toBe(2);
    expect(sink.status()).toMatchObject({ ready: true, queued: 0 });
    await sink.close();
  });

  it('puts batches whose writes failed back oldest first, and writes them in that order once the server answers', async () => {
    const database = freshDatabase();
    const { writer, state } = switchableWriter(database);
    state.down = false;
    let failuresLeft = 2;
    const firstPointOf: number[] = [];
    const flaky: InfluxWriter = {
      ...writer,
      async write(lines) {
        // The first two batches (written together) fail; after that the server answers.
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new Error('socket hang up');
        }
        firstPointOf.push(Number((lines[0] as string).split(' ').at(-1)));
        await writer.write(lines);
      },
    };
    const sink = await sinkWithBacklog(flaky, 6_000);
    await eventually('the backlog written', async () => (sink.status().queued === 0 && state.inFlight === 0 ? true : undefined), 30_000);
    await sink.flush();
    // Batches start oldest first: 1000 points apart, beginning with the two that had failed.
    expect(firstPointOf).toEqual(Array.from({ length: 6 }, (_, i) => T0 + i * 1_000_000));
    const [row] = await queryInflux(database, 'SELECT count(hopper_temp) AS n FROM telemetry');
    expect(row.n).toBe(6_000);
    await sink.close();
  });

  it('closing while InfluxDB is down gives up at once, its backlog still counted as queued', async () => {
    const { writer, state } = switchableWriter(freshDatabase());
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
