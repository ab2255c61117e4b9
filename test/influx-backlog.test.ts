import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../gateway/src/observability/metrics.js';
import { createInfluxSink } from '../gateway/src/sinks/influx/influx-sink.js';
import { createInfluxV1Writer, type InfluxWriter } from '../gateway/src/sinks/influx/influx-writer.js';
import { queryInflux } from './helpers/influx-query.js';
import { eventually, freshDatabase } from './helpers/test-gateway.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');

/** The suite's real influxd behind a switch: while `down`, every write fails as an unreachable server does. */
function switchableWriter(database: string) {
  const real = createInfluxV1Writer({ url: inject('influxUrl'), database, timeoutMs: 10_000 });
  const state = { down: true, inFlight: 0, maxInFlight: 0, requests: 0 };
  const writer: InfluxWriter = {
    target: real.target,
    prepare: () => (state.down ? Promise.reject(new Error('connect ECONNREFUSED')) : real.prepare()),
    ping: () => real.ping(),
    async write(lines) {
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

describe('the InfluxDB sink after an outage', () => {
  it('keeps what arrived while InfluxDB was down and, once it is back, writes the backlog two batches at a time', async () => {
    const database = freshDatabase();
    const { writer, state } = switchableWriter(database);
    const metrics = createGatewayMetrics({ processMetrics: false });
    const sink = createInfluxSink({
      writer,
      batchSize: 1_000,
      flushIntervalMs: 50,
      maxQueuedPoints: 50_000,
      maxInFlight: 2,
      metrics,
      log: createLogger('silent'),
    });
    await sink.start();
    for (let i = 0; i < 20_000; i += 1) {
      sink.writeTelemetry({
        site: 's',
        device: `d${i % 50}`,
        profile: 'dust-collector',
        ts: T0 + i * 1_000,
        metrics: { hopper_temp: i % 90 },
      });
    }
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
    const sink = createInfluxSink({
      writer: flaky,
      batchSize: 1_000,
      flushIntervalMs: 50,
      maxQueuedPoints: 50_000,
      maxInFlight: 2,
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
    });
    await sink.start();
    for (let i = 0; i < 6_000; i += 1) {
      sink.writeTelemetry({ site: 's', device: 'd1', profile: 'dust-collector', ts: T0 + i * 1_000, metrics: { hopper_temp: 20 } });
    }
    await eventually('the backlog written', async () => (sink.status().queued === 0 && state.inFlight === 0 ? true : undefined), 30_000);
    await sink.flush();
    // Batches start oldest first: 1000 points apart, beginning with the two that had failed.
    expect(firstPointOf).toEqual(Array.from({ length: 6 }, (_, i) => T0 + i * 1_000_000));
    const [row] = await queryInflux(database, 'SELECT count(hopper_temp) AS n FROM telemetry');
    expect(row.n).toBe(6_000);
    await sink.close();
  });

  it('closing while InfluxDB is down gives up at once, with what it could not write counted as lost', async () => {
    const { writer, state } = switchableWriter(freshDatabase());
    let attempts = 0;
    const counting: InfluxWriter = {
      ...writer,
      async write(lines) {
        attempts += 1;
        await writer.write(lines);
      },
    };
    const sink = createInfluxSink({
      writer: counting,
      batchSize: 1_000,
      flushIntervalMs: 50,
      maxQueuedPoints: 50_000,
      maxInFlight: 2,
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
    });
    await sink.start();
    for (let i = 0; i < 5_000; i += 1) {
      sink.writeTelemetry({ site: 's', device: 'd1', profile: 'dust-collector', ts: T0 + i * 1_000, metrics: { hopper_temp: 20 } });
    }
    await sink.close();
    expect(state.down).toBe(true);
    // A handful of attempts (the writers that were running, then one at close), not a retry loop.
    expect(attempts).toBeLessThanOrEqual(4);
    expect(sink.status().queued).toBe(5_000);
  });
});
