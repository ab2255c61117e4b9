/**
 * Section 7, in a process of its own. The durable on-disk spool does not exist yet: this measures the
 * InfluxDB sink draining an in-memory backlog built up while its influxd was down, once the server is
 * back, and — in the same run — the server's own ceiling with a direct batched line-protocol writer
 * (the sink's writer, several requests in flight). Points per second; every point is counted in influxd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configSchema } from '../../gateway/src/config/config-schema.js';
import { createGatewayMetrics } from '../../gateway/src/observability/metrics.js';
import { createInfluxSink } from '../../gateway/src/sinks/influx/influx-sink.js';
import { createInfluxV1Writer, type InfluxWriter } from '../../gateway/src/sinks/influx/influx-writer.js';
import { telemetryLine } from '../../gateway/src/sinks/influx/line-protocol.js';
import { freePort, type LocalInfluxd, startLocalInfluxd } from '../../gateway/src/sinks/influx/local-influxd.js';
import type { Reading } from '../../rules/src/index.js';
import { childRuntime } from '../lib/child.js';
import { countStored } from '../lib/influx-query.js';
import { dustCollectorReports } from '../lib/payloads.js';
import { sleep, wallMs } from '../lib/stats.js';

export interface SpoolDrainArgs {
  points: number;
  batchSize: number;
  directConcurrency: number;
}

const runtime = childRuntime<SpoolDrainArgs>();
const { args } = runtime;
const dataDir = mkdtempSync(join(tmpdir(), 'bench-spool-influxd-'));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const silent = pino({ level: 'silent' });
let influxd: LocalInfluxd | null = null;

const DEVICES = 100;
const reports = dustCollectorReports(500);
const readings = (site: string): Reading[] => {
  const t0 = Date.now() - args.points;
  return Array.from({ length: args.points }, (_, i) => ({
    site,
    device: `dc-${i % DEVICES}`,
    profile: 'dust-collector',
    ts: t0 + Math.floor(i / DEVICES),
    receivedAt: t0,
    seq: i,
    metrics: reports[i % reports.length] as Reading['metrics'],
  }));
};

/** The sink's writer, noting when the first successful request started. */
function observed(writer: InfluxWriter): InfluxWriter & { firstSuccessStart: number | null } {
  const wrapper = {
    target: writer.target,
    firstSuccessStart: null as number | null,
    prepare: () => writer.prepare(),
    ping: () => writer.ping(),
    async write(lines: readonly string[]) {
      const start = wallMs();
      await writer.write(lines);
      wrapper.firstSuccessStart ??= start;
    },
  };
  return wrapper;
}

async function drain(run: number): Promise<Record<string, unknown>> {
  await influxd?.stop();
  influxd = null;
  const database = `spool_r${run}`;
  const writer = observed(createInfluxV1Writer({ url, database, timeoutMs: 30_000 }));
  const sink = createInfluxSink({
    writer,
    batchSize: args.batchSize,
    flushIntervalMs: 500,
    maxQueuedPoints: args.points + 10_000,
    // The gateway's default (influx.maxInFlight).
    maxInFlight: configSchema.parse({}).influx.maxInFlight,
    metrics: createGatewayMetrics(),
    log: silent,
  });
  await sink.start();
  const site = `spool-${run}`;
  for (const reading of readings(site)) sink.writeTelemetry(reading);
  await sleep(1_000);
  const queuedWhileDown = sink.status().queued;
  influxd = await startLocalInfluxd({ dataDir, port });
  const upAt = wallMs();
  while (sink.status().queued > 0 && wallMs() - upAt < 120_000) await sleep(5);
  await sink.flush();
  const doneAt = wallMs();
  await sink.close();
  const first = writer.firstSuccessStart ?? upAt;
  const stored = await countStored(url, database, site);
  return {
    queuedWhileDown,
    drainSeconds: (doneAt - first) / 1000,
    drainPointsPerS: args.points / ((doneAt - first) / 1000),
    secondsFromServerUp: (doneAt - upAt) / 1000,
    stored,
  };
}

async function direct(run: number, concurrency: number): Promise<Record<string, unknown>> {
  const database = `direct_r${run}_c${concurrency}`;
  const writer = createInfluxV1Writer({ url, database, timeoutMs: 30_000 });
  await writer.prepare();
  const site = `direct-${run}-${concurrency}`;
  const lines = readings(site).map((r) => telemetryLine(r) as string);
  let next = 0;
  const start = wallMs();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < lines.length) {
        const batch = lines.slice(next, next + args.batchSize);
        next += args.batchSize;
        await writer.write(batch);
      }
    }),
  );
  const seconds = (wallMs() - start) / 1000;
  return { concurrency, pointsPerS: lines.length / seconds, stored: await countStored(url, database, site) };
}

runtime.serve({
  run: async (message) => {
    const run = Number(message.run);
    const sink = await drain(run);
    const one = await direct(run, 1);
    const many = await direct(run, args.directConcurrency);
    return { points: args.points, fieldsPerPoint: 10, sink, directOne: one, directMany: many };
  },
  close: async () => {
    await influxd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  },
});
runtime.ready();
