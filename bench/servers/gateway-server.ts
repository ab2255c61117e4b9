/**
 * The gateway under test, in a process of its own: `startGateway` exactly as `main.ts` composes it, from the build
 * that ships (dist/, lib/built.ts),
 * writing to the benchmark's influxd. Answers `expect` (wait until N more readings are accepted and
 * stored), `stats` and `close` over IPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { built } from '../lib/built.js';
import { childRuntime } from '../lib/child.js';
import { cpuSeconds, expectationHandlers, jsonTotal } from '../lib/counters.js';
import { fullCollections, youngGenerationBytes } from '../lib/full-collections.js';
import { threadRuntime } from '../lib/runtime-pauses.js';

export interface DeviceGroup {
  site: string;
  /** Device ids `${prefix}${0..count-1}`. */
  prefix: string;
  count: number;
  secretHash: string;
  /** Registry attributes of every device in the group (e.g. `reportingIntervalMs`); none when absent. */
  attributes?: Record<string, number | boolean | string>;
}

export interface GatewayServerArgs {
  influxUrl: string | null;
  database: string;
  groups: DeviceGroup[];
  webhook?: { url: string; secret: string };
  token: string;
  logLevel?: string;
  /** `lane.thread`; the shipped default when absent. */
  thread?: 'worker' | 'main';
  /** `store.enabled` (default true): false measures what the durable store costs. */
  store?: boolean;
  /** `cluster:` (absent: a single node): this node's id and the shared Redis; heartbeat and memberTimeout in ms. */
  cluster?: { redisUrl: string; nodeId: string; heartbeat?: number; memberTimeout?: number };
  /** The data directory, kept at close (a restart on the state a previous gateway saved); default a fresh one, removed. */
  dataDir?: string;
}

const { validateConfig } = await built<typeof import('../../gateway/src/config/load-config.js')>('gateway/src/config/load-config.js');
const { startGateway } = await built<typeof import('../../gateway/src/gateway.js')>('gateway/src/gateway.js');
const { createLogger } = await built<typeof import('../../gateway/src/observability/logger.js')>('gateway/src/observability/logger.js');

const runtime = childRuntime<GatewayServerArgs>();
const { args } = runtime;
const dataDir = args.dataDir ?? mkdtempSync(join(tmpdir(), 'bench-gateway-'));
const devices = args.groups.flatMap((group) =>
  Array.from({ length: group.count }, (_, i) => ({
    id: `${group.prefix}${i}`,
    site: group.site,
    profile: 'dust-collector',
    secretHash: group.secretHash,
    ...(group.attributes ? { attributes: group.attributes } : {}),
  })),
);
const config = validateConfig(
  {
    mqtt: { tcp: { host: '127.0.0.1', port: 0 } },
    http: { host: '127.0.0.1', port: 0 },
    influx: args.influxUrl ? { mode: 'url', url: args.influxUrl, database: args.database } : { mode: 'off' },
    webhooks: args.webhook
      ? [{ id: 'bench', url: args.webhook.url, secrets: [args.webhook.secret], retryBaseDelay: 200, maxQueued: 100_000 }]
      : [],
    devices,
    dataDir,
    api: { tokens: [{ name: 'bench', role: 'viewer', token: args.token }] },
    logLevel: args.logLevel ?? 'warn',
    ...(args.thread ? { lane: { thread: args.thread } } : {}),
    ...(args.store === false ? { store: { enabled: false } } : {}),
    ...(args.cluster
      ? {
          cluster: {
            redis: { url: args.cluster.redisUrl },
            nodeId: args.cluster.nodeId,
            ...(args.cluster.heartbeat === undefined ? {} : { heartbeat: args.cluster.heartbeat }),
            ...(args.cluster.memberTimeout === undefined ? {} : { memberTimeout: args.cluster.memberTimeout }),
          },
        }
      : {}),
  },
  '(bench)',
);
const gateway = await startGateway({ config, log: createLogger(config.logLevel) });
const { metrics } = gateway;
/** Both registries: the main thread's and, with `lane.thread: worker`, the worker's. */
const registries = async () => [await metrics.registry.getMetricsAsJSON(), await gateway.lane.workerMetrics()];
/**
 * One metric of both registries. A run polls its counters every 20 ms: reading the whole registries for them (the
 * process and GC collectors included) cost a few percent of the gateway's CPU, counted as the gateway's own.
 */
const metricOf = async (name: string) => {
  const own = metrics.registry.getSingleMetric(name);
  return [own ? [await own.get()] : [], await gateway.lane.workerMetrics({ names: [name] })];
};
const total = async (name: string, labels: Record<string, string> = {}) => jsonTotal(await metricOf(name), name, labels);
const accepted = () => total('gateway_readings_accepted_total');
const written = () => total('gateway_sink_written_total', { sink: 'influxdb' });

runtime.serve({
  ...expectationHandlers({
    accepted,
    stored: gateway.influx.url ? written : null,
    pollMs: 20,
  }),
  /** Readings accepted and points written so far (a cluster's nodes are polled and summed by the orchestrator). */
  counters: async () => ({ accepted: await accepted(), written: await written() }),
  /** The cluster as this node sees it: live members, and the sites it owns (the orchestrator waits for them to agree). */
  cluster: async () => ({ members: await total('gateway_cluster_members'), sitesOwned: await total('gateway_cluster_sites_owned') }),
  stats: async () => {
    const rejections = await metrics.rejections.get();
    const dropped = await total('gateway_sink_dropped_total', { sink: 'influxdb' });
    return {
      rss: process.memoryUsage().rss,
      heapUsed: process.memoryUsage().heapUsed,
      cpuSeconds: cpuSeconds(),
      connections: gateway.broker.connectedClients,
      accepted: await accepted(),
      written: await written(),
      rejected: rejections.values.reduce((sum, v) => sum + v.value, 0),
      rejectionReasons: [...new Set(rejections.values.filter((v) => v.value > 0).map((v) => String(v.labels.reason)))],
      influxDropped: dropped,
      alarmEvents: await total('gateway_alarm_events_total'),
    };
  },
  /**
   * Full garbage collections of both threads (the process runs with --expose-gc), then the RSS and heaps: memory
   * held, not garbage waiting (V8 leaves the worker's start-up garbage, hundreds of MB with 20k devices, until it
   * next needs room).
   */
  settle: async () => {
    const worker = (await fullCollections(() => gateway.lane.workerMetrics({ collectGarbage: true }))) ?? [];
    const memory = process.memoryUsage();
    return {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      workerHeapUsed: jsonTotal([worker], 'gateway_nodejs_heap_size_used_bytes'),
      young: youngGenerationBytes() + jsonTotal([worker], 'gateway_nodejs_heap_space_size_total_bytes', { space: 'new' }),
    };
  },
  /** Each thread's event-loop delay since the last call and its GC totals: `{ main, worker }` (worker null on `lane.thread: main`). */
  runtime: async () => {
    const [main, worker] = await registries();
    return { main: threadRuntime(main ?? []), worker: worker && worker.length > 0 ? threadRuntime(worker) : null };
  },
  close: async () => {
    await gateway.close();
    if (args.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  },
});
runtime.ready({ mqttUrl: gateway.mqttUrl, httpUrl: gateway.httpUrl, port: Number(new URL(gateway.mqttUrl).port) });
