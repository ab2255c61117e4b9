/**
 * Section 7, in a process of its own: the InfluxDB sink draining a backlog built up while its influxd was
 * down, once the server is back — from the durable on-disk spool (the gateway's default, the local store's
 * SQLite file) and from the in-memory queue (`store.enabled: false`) — and, in the same run, the server's own
 * ceiling with a direct batched line-protocol writer (the sink's writer, several requests in flight).
 * Points per second; every point is counted in influxd.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { InfluxWriter } from '../../gateway/src/sinks/influx/influx-writer.js';
import type { LineChunk } from '../../gateway/src/sinks/influx/line-body.js';
import type { LocalInfluxd } from '../../gateway/src/sinks/influx/local-influxd.js';
import type { Reading } from '../../rules/src/index.js';
import { built } from '../lib/built.js';
import { childRuntime } from '../lib/child.js';
import { countStored } from '../lib/influx-query.js';
import { dustCollectorReports } from '../lib/payloads.js';
import { sleep, wallMs } from '../lib/stats.js';

export interface SpoolDrainArgs {
  points: number;
  batchSize: number;
  directConcurrency: number;
}

// the sink and spool as they ship (dist/): lib/built.ts
const { configSchema } = await built<typeof import('../../gateway/src/config/config-schema.js')>('gateway/src/config/config-schema.js');
const { createGatewayMetrics } = await built<typeof import('../../gateway/src/observability/metrics.js')>(
  'gateway/src/observability/metrics.js',
);
const { createInfluxSink } = await built<typeof import('../../gateway/src/sinks/influx/influx-sink.js')>(
  'gateway/src/sinks/influx/influx-sink.js',
);
const { createInfluxV1Writer } = await built<typeof import('../../gateway/src/sinks/influx/influx-writer.js')>(
  'gateway/src/sinks/influx/influx-writer.js',
);
const { telemetryLine } = await built<typeof import('../../gateway/src/sinks/influx/line-protocol.js')>(
  'gateway/src/sinks/influx/line-protocol.js',
);
const { freePort, startLocalInfluxd } = await built<typeof import('../../gateway/src/sinks/influx/local-influxd.js')>(
  'gateway/src/sinks/influx/local-influxd.js',
);
const { openStore } = await built<typeof import('../../gateway/src/store/open-store.js')>('gateway/src/store/open-store.js');
const { createSpoolQueue } = await built<typeof import('../../gateway/src/store/spool-queue.js')>('gateway/src/store/spool-queue.js');
const { createWriteBuffer } = await built<typeof import('../../gateway/src/store/write-buffer.js')>('gateway/src/store/write-buffer.js');

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
    async write(lines: readonly LineChunk[]) {
      const start = wallMs();
      await writer.write(lines);
      wrapper.firstSuccessStart ??= start;
    },
  };
  return wrapper;
}

/** Where the backlog waits: the local store's spool (the default), or memory (`store.enabled: false`). */
type Backlog = 'disk' | 'memory';

async function drain(run: number, backlog: Backlog): Promise<Record<string, unknown>> {
  await influxd?.stop();
  influxd = null;
  const database = `spool_r${run}_${backlog}`;
  const writer = observed(createInfluxV1Writer({ url, database, timeoutMs: 30_000 }));
  const defaults = configSchema.parse({});
  const storeDir = mkdtempSync(join(tmpdir(), 'bench-spool-store-'));
  // the lane's write buffer: its pushes become rows in its commit (a commit's telemetry in rows of many points)
  const later = createWriteBuffer();
  const store =
    backlog === 'disk'
      ? openStore({ dataDir: storeDir, synchronous: defaults.store.synchronous, maxBytes: defaults.store.maxBytes })
      : null;
  const sink = createInfluxSink({
    ...(store
      ? {
          queue: createSpoolQueue(
            store,
            { maxPoints: defaults.store.spool.maxPoints, maxAgeMs: defaults.store.spool.maxAge, batchSize: args.batchSize },
            Date.now,
            later,
          ),
        }
      : {}),
    writer,
    batchSize: args.batchSize,
    flushIntervalMs: 500,
    maxQueuedPoints: args.points + 10_000,
    // The gateway's default (influx.maxInFlight).
    maxInFlight: defaults.influx.maxInFlight,
    metrics: createGatewayMetrics(),
    log: silent,
  });
  await sink.start();
  const site = `spool-${run}-${backlog}`;
  const enqueueStart = wallMs();
  // as the lane spools: the readings of a batch in one commit (5,000 here)
  const all = readings(site);
  for (let at = 0; at < all.length; at += 5_000) {
    const write = () => {
      for (const reading of all.slice(at, at + 5_000)) sink.writeTelemetry(reading);
    };
    if (store) {
      later.collecting(write);
      store.transaction(() => later.apply())();
    } else write();
  }
  const enqueueSeconds = (wallMs() - enqueueStart) / 1000;
  await sleep(1_000);
  const queuedWhileDown = sink.status().queued;
  influxd = await startLocalInfluxd({ dataDir, port });
  const upAt = wallMs();
  while (sink.status().queued > 0 && wallMs() - upAt < 120_000) await sleep(5);
  await sink.flush();
  const doneAt = wallMs();
  await sink.close();
  store?.close();
  rmSync(storeDir, { recursive: true, force: true });
  const first = writer.firstSuccessStart ?? upAt;
  const stored = await countStored(url, database, site);
  return {
    backlog,
    queuedWhileDown,
    enqueuePointsPerS: args.points / enqueueSeconds,
    drainSeconds: (doneAt - first) / 1000,
    drainPointsPerS: args.points / ((doneAt - first) / 1000),
    secondsFromServerUp: (doneAt - upAt) / 1000,
    stored,
  };
}

async function direct(run: number, concurrency: number): Promise<Record<string, unknown>> {
  // on a server just started, as the sink's drains are: a warm server took more in the same run
  await influxd?.stop();
  influxd = await startLocalInfluxd({ dataDir, port });
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
    const disk = await drain(run, 'disk');
    const memory = await drain(run, 'memory');
    const one = await direct(run, 1);
    const many = await direct(run, args.directConcurrency);
    return { points: args.points, fieldsPerPoint: 10, sink: disk, memory, directOne: one, directMany: many };
  },
  close: async () => {
    await influxd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  },
});
runtime.ready();
