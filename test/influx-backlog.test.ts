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
});
