/**
 * Sections 1, 2 and the peer: the same publisher load — QoS 0 and 1, 1 and 10 connections, dust-collector
 * payloads — through the gateway (validate → rules → batched InfluxDB writes), through bare aedes with a
 * no-op hook, through Mosquitto with a subscriber running the same pipeline, and through a Node-RED flow (its
 * aedes broker node, a threshold in a function node, the InfluxDB batch node). Each broker under test runs in
 * its own process; the load generator in another.
 */
import { type BenchChild, spawnChild } from '../lib/child.js';
import { countStored } from '../lib/influx-query.js';
import { cpuMeter } from '../lib/proc-cpu.js';
import { sleep, wallMs } from '../lib/stats.js';
import type { PublishLoadArgs } from '../load/publish-load.js';
import type { DeviceGroup } from '../servers/gateway-server.js';

/**
 * `gateway`: as shipped (telemetry lane in a worker thread); `gateway-main`: with `lane.thread: main`; the
 * `-memory` variants with `store.enabled: false` (nothing durable: what the store costs).
 */
export type Target = 'gateway' | 'gateway-main' | 'gateway-memory' | 'gateway-main-memory' | 'bare-aedes' | 'mosquitto' | 'node-red';

const isGateway = (target: Target): boolean => target.startsWith('gateway');

export interface LoadShape {
  qos: 0 | 1;
  connections: number;
}

export interface IngestRun {
  target: Target;
  qos: 0 | 1;
  connections: number;
  run: number;
  messages: number;
  /** Messages per second accepted by the broker's hook / the peer's subscriber. */
  acceptedPerS: number | null;
  /** Messages (= readings) per second written to InfluxDB (gateway, peer). */
  storedPerS: number | null;
  /** Points found in InfluxDB afterwards. */
  storedCount: number | null;
  accepted: number;
  publisherSeconds: number;
  serverCpuSeconds: number;
  /**
   * CPU seconds from the first PUBLISH until everything was stored, per process: the server under test
   * (all its threads; for the peer, subscriber and Mosquitto), influxd and the load generator.
   */
  cpu: { server: number | null; influxd: number | null; load: number | null };
  /** Wall-clock seconds of the same interval. */
  wallSeconds: number;
  payloadBytes: number;
}

export const SHAPES: LoadShape[] = [
  { qos: 0, connections: 1 },
  { qos: 0, connections: 10 },
  { qos: 1, connections: 1 },
  { qos: 1, connections: 10 },
];

export interface IngestContext {
  influxUrl: string;
  /** influxd's process id, for its CPU time. */
  influxdPid?: number;
  secretHash: string;
  secret: string;
  mosquitto: string | null;
  runs: number;
  messagesPerRun: number;
  /** Extra node flags for the gateway process (the profiling pass). */
  gatewayNodeArgs?: string[];
  shapes?: LoadShape[];
  log(line: string): void;
}

export const siteOf = (target: Target, shape: LoadShape, run: number): string => `${target}-q${shape.qos}-c${shape.connections}-r${run}`;

function groupsFor(target: Target, shapes: readonly LoadShape[], runs: number, secretHash: string): DeviceGroup[] {
  return shapes.flatMap((shape) =>
    Array.from({ length: runs }, (_, run) => ({
      site: siteOf(target, shape, run),
      prefix: `${siteOf(target, shape, run)}-d`,
      count: shape.connections,
      secretHash,
    })),
  );
}

async function startTarget(target: Target, ctx: IngestContext, database: string, qos: 0 | 1): Promise<BenchChild> {
  const shapes = ctx.shapes ?? SHAPES;
  const groups = groupsFor(target, shapes, ctx.runs, ctx.secretHash);
  if (isGateway(target))
    return spawnChild(
      'servers/gateway-server.ts',
      {
        influxUrl: ctx.influxUrl,
        database,
        groups,
        token: 'bench-viewer-token-0001',
        thread: target.startsWith('gateway-main') ? 'main' : 'worker',
        store: !target.endsWith('-memory'),
      },
      { nodeArgs: ctx.gatewayNodeArgs ?? [] },
    );
  if (target === 'bare-aedes') return spawnChild('servers/bare-aedes-server.ts', {});
  if (target === 'node-red') return spawnChild('servers/node-red-flow.ts', { influxUrl: ctx.influxUrl, database });
  return spawnChild('servers/mosquitto-pipeline.ts', { mosquitto: ctx.mosquitto, influxUrl: ctx.influxUrl, database, groups, qos });
}

/** One measured run: connect the publishers, arm the server's counters, publish, wait for accepted and stored. */
async function measure(
  server: BenchChild,
  target: Target,
  shape: LoadShape,
  run: number,
  ctx: IngestContext,
  database: string,
): Promise<IngestRun> {
  const site = siteOf(target, shape, run);
  const messagesPerDevice = Math.ceil(ctx.messagesPerRun / shape.connections);
  const messages = messagesPerDevice * shape.connections;
  const loadArgs: PublishLoadArgs = {
    host: '127.0.0.1',
    port: Number(server.info.port),
    qos: shape.qos,
    site,
    devices: Array.from({ length: shape.connections }, (_, i) => `${site}-d${i}`),
    ...(isGateway(target) ? { password: ctx.secret } : {}),
    messagesPerDevice,
    mode: 'flood',
    window: 100,
  };
  const load = await spawnChild('load/publish-load.ts', loadArgs);
  try {
    const cpuBefore = Number((await server.call('stats')).cpuSeconds);
    await server.call('arm', { accepted: messages, timeoutMs: 90_000 });
    const brokerPid = typeof server.info.brokerPid === 'number' ? server.info.brokerPid : undefined;
    const meters = [cpuMeter({ server: server.pid, influxd: ctx.influxdPid, load: load.pid }), cpuMeter({ broker: brokerPid })];
    const wallStart = wallMs();
    const sent = await load.call<{ startedAt: number; finishedAt: number; payloadBytes: number }>('go', {}, 120_000);
    const seen = await server.call<{ accepted: number; acceptedAt: number | null; storedAt: number | null }>('wait', {}, 120_000);
    const [used, broker] = meters.map((stop) => stop()) as [Record<string, number | null>, Record<string, number | null>];
    const wallSeconds = (wallMs() - wallStart) / 1000;
    const cpuAfter = Number((await server.call('stats')).cpuSeconds);
    let storedCount: number | null = null;
    if (target !== 'bare-aedes') {
      // The sink's counter also counts alarm-event points: confirm the telemetry itself in influxd.
      for (let attempt = 0; attempt < 50 && (storedCount ?? 0) < messages; attempt += 1) {
        if (attempt > 0) await sleep(100);
        storedCount = await countStored(ctx.influxUrl, database, site);
      }
    }
    const rate = (at: number | null): number | null => (at === null ? null : messages / ((at - sent.startedAt) / 1000));
    const result: IngestRun = {
      target,
      qos: shape.qos,
      connections: shape.connections,
      run,
      messages,
      acceptedPerS: rate(seen.acceptedAt),
      storedPerS: target === 'bare-aedes' ? null : rate(seen.storedAt),
      storedCount,
      accepted: seen.accepted,
      publisherSeconds: (sent.finishedAt - sent.startedAt) / 1000,
      serverCpuSeconds: cpuAfter - cpuBefore,
      cpu: {
        server: used.server === null ? null : (used.server ?? 0) + (broker.broker ?? 0),
        influxd: used.influxd ?? null,
        load: used.load ?? null,
      },
      wallSeconds,
      payloadBytes: sent.payloadBytes,
    };
    ctx.log(
      `  ${target} qos${shape.qos} ×${shape.connections} run ${run + 1}: ${fmtRate(result.acceptedPerS)} accepted/s, ${fmtRate(result.storedPerS)} stored/s` +
        (storedCount === null ? '' : `, ${storedCount}/${messages} in influxd`),
    );
    return result;
  } finally {
    await load.stop();
  }
}

const fmtRate = (x: number | null): string => (x === null ? '—' : Math.round(x).toLocaleString('en-US'));

/** Every shape × run against one target; a fresh server process per target (per QoS for the peer, whose subscription QoS matters). */
export async function runIngest(target: Target, ctx: IngestContext): Promise<IngestRun[]> {
  const database = `bench_${target.replace(/-/g, '_')}${ctx.gatewayNodeArgs?.length ? '_prof' : ''}`;
  const results: IngestRun[] = [];
  const shapes = ctx.shapes ?? SHAPES;
  const qosSets = target === 'mosquitto' ? ([0, 1] as const) : ([null] as const);
  for (const qosSet of qosSets) {
    const server = await startTarget(target, ctx, database, qosSet ?? 1);
    try {
      for (const shape of shapes) {
        if (qosSet !== null && shape.qos !== qosSet) continue;
        for (let run = 0; run < ctx.runs; run += 1) results.push(await measure(server, target, shape, run, ctx, database));
      }
    } finally {
      await server.stop();
    }
  }
  return results;
}
