/**
 * Section 8, cluster (issue 16): the same QoS 1 load through one, two and three gateway nodes sharing one MQTT
 * namespace on a private redis-server (mqemitter-redis + aedes-persistence-redis), and through a single node
 * without `cluster:` as the baseline, in the same run. Devices connect round-robin to the nodes from one load
 * generator; every device is a site of its own, so rendezvous hashing spreads the sites over the nodes, and a
 * device connected to a node that does not own its site has its PUBLISH forwarded to the owner over Redis (as
 * behind a TCP load balancer). Every node has the whole registry and its own local store and writes to the run's
 * influxd. Measured from the first PUBLISH until the nodes together have stored every reading (their counters
 * polled and summed): readings/s stored (confirmed in influxd), CPU of every gateway process and of redis-server from /proc, and Redis's own counters (commands,
 * PUBLISH calls, bytes) per stored reading. On a 2-core machine this shows what the shared namespace costs,
 * not how throughput scales with nodes.
 */
import { Redis } from 'ioredis';
import { type BenchChild, spawnChild } from '../lib/child.js';
import { cpuMeter } from '../lib/proc-cpu.js';
import { type BenchRedis, startBenchRedis } from '../lib/redis-server.js';
import { sleep, wallMs } from '../lib/stats.js';
import type { PublishLoadArgs } from '../load/publish-load.js';
import type { DeviceGroup, GatewayServerArgs } from '../servers/gateway-server.js';

export interface ClusterSetup {
  /** Gateway processes. */
  nodes: number;
  /** False: one node without `cluster:` (the baseline). */
  cluster: boolean;
}

export const CLUSTER_SETUPS: readonly ClusterSetup[] = [
  { nodes: 1, cluster: false },
  { nodes: 1, cluster: true },
  { nodes: 2, cluster: true },
  { nodes: 3, cluster: true },
];

export interface RedisCounters {
  commands: number;
  publish: number;
  netInputBytes: number;
  netOutputBytes: number;
}

export interface ClusterRun {
  nodes: number;
  cluster: boolean;
  run: number;
  devices: number;
  messages: number;
  /** Readings published through each node (its round-robin share of the devices; the owners judge and store them). */
  messagesPerNode: number[];
  acceptedPerS: number | null;
  storedPerS: number | null;
  storedCount: number;
  wallSeconds: number;
  /** CPU seconds over the measured interval: each gateway process (all threads), redis-server, influxd, the load generator. */
  cpu: { gateways: number[]; redis: number | null; influxd: number | null; load: number | null };
  /** Redis's own counters over the interval (INFO stats / commandstats); null for the baseline. */
  redis: RedisCounters | null;
  payloadBytes: number;
}

export interface ClusterContext {
  influxUrl: string;
  influxdPid?: number;
  secret: string;
  secretHash: string;
  redisServer: string;
  runs: number;
  /** Total readings per run, spread over the devices. */
  messagesPerRun: number;
  /** Total device connections (divisible by 1, 2 and 3 keeps every node's share equal). */
  devices: number;
  log(line: string): void;
}

const DATABASE = 'bench_cluster';
const TOKEN = 'bench-viewer-token-0001';

export const setupName = (setup: ClusterSetup): string =>
  setup.cluster ? `${setup.nodes} node${setup.nodes > 1 ? 's' : ''}, cluster` : '1 node, no cluster';
const runTag = (setup: ClusterSetup, run: number): string => `cluster-n${setup.nodes}${setup.cluster ? '' : '-single'}-r${run}`;
/** Device i of a run is `${site}-d0` in site `${runTag}-s${i}`. */
const siteOf = (setup: ClusterSetup, run: number, device: number): string => `${runTag(setup, run)}-s${device}`;

/** Telemetry points in influxd of the run's sites. */
async function countRun(url: string, tag: string): Promise<number> {
  const q = `SELECT count("diff_pressure") FROM "telemetry" WHERE "site" =~ /^${tag}-s/`;
  const response = await fetch(`${url}/query?${new URLSearchParams({ db: DATABASE, q })}`);
  if (!response.ok) throw new Error(`InfluxDB query failed with HTTP ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
  const value = body.results?.[0]?.series?.[0]?.values?.[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

/** The nodes' counters summed. */
async function totals(nodes: BenchChild[]): Promise<{ accepted: number; written: number }> {
  const each = await Promise.all(nodes.map((node) => node.call<{ accepted: number; written: number }>('counters')));
  return { accepted: each.reduce((sum, c) => sum + c.accepted, 0), written: each.reduce((sum, c) => sum + c.written, 0) };
}

async function redisCounters(client: Redis): Promise<RedisCounters> {
  const info = `${await client.info('stats')}\n${await client.info('commandstats')}`;
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return {
    commands: field('total_commands_processed'),
    publish: Number(/^cmdstat_publish:calls=(\d+)/m.exec(info)?.[1] ?? 0),
    netInputBytes: field('total_net_input_bytes'),
    netOutputBytes: field('total_net_output_bytes'),
  };
}

async function measure(
  setup: ClusterSetup,
  nodes: BenchChild[],
  run: number,
  ctx: ClusterContext,
  redis: { server: BenchRedis; client: Redis } | null,
): Promise<ClusterRun> {
  const tag = runTag(setup, run);
  const messagesPerDevice = Math.ceil(ctx.messagesPerRun / ctx.devices);
  const messages = messagesPerDevice * ctx.devices;
  const sites = Array.from({ length: ctx.devices }, (_, i) => siteOf(setup, run, i));
  const devices = sites.map((site) => `${site}-d0`);
  const nodeOf = (device: number): number => device % nodes.length;
  const messagesPerNode = nodes.map((_, k) => devices.filter((__, i) => nodeOf(i) === k).length * messagesPerDevice);
  const loadArgs: PublishLoadArgs = {
    host: '127.0.0.1',
    port: Number(nodes[0]?.info.port),
    ports: devices.map((_, i) => Number(nodes[nodeOf(i)]?.info.port)),
    qos: 1,
    site: sites[0] as string,
    sites,
    devices,
    password: ctx.secret,
    messagesPerDevice,
    mode: 'flood',
    window: 100,
  };
  const load = await spawnChild('load/publish-load.ts', loadArgs);
  try {
    const base = await totals(nodes);
    const before = redis ? await redisCounters(redis.client) : null;
    const stop = cpuMeter({
      ...Object.fromEntries(nodes.map((node, k) => [`gateway${k}`, node.pid])),
      redis: redis?.server.pid,
      influxd: ctx.influxdPid,
      load: load.pid,
    });
    const wallStart = performance.now();
    const going = load.call<{ startedAt: number; finishedAt: number; payloadBytes: number }>('go', {}, 120_000);
    // The owner of a site stores what was published on another node: only the sum over the nodes is comparable to the load.
    let acceptedAt: number | null = null;
    let storedAt: number | null = null;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && storedAt === null) {
      await sleep(25);
      const now = wallMs();
      const current = await totals(nodes);
      if (acceptedAt === null && current.accepted - base.accepted >= messages) acceptedAt = now;
      if (current.written - base.written >= messages) storedAt = now;
    }
    const sent = await going;
    const used = stop();
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const after = redis ? await redisCounters(redis.client) : null;
    let storedCount = 0;
    for (let attempt = 0; attempt < 50 && storedCount < messages; attempt += 1) {
      if (attempt > 0) await sleep(100);
      storedCount = await countRun(ctx.influxUrl, tag);
    }
    const rate = (at: number | null): number | null => (at === null ? null : messages / ((at - sent.startedAt) / 1000));
    const result: ClusterRun = {
      nodes: setup.nodes,
      cluster: setup.cluster,
      run,
      devices: ctx.devices,
      messages,
      messagesPerNode,
      acceptedPerS: rate(acceptedAt),
      storedPerS: rate(storedAt),
      storedCount,
      wallSeconds,
      cpu: {
        gateways: nodes.map((_, k) => used[`gateway${k}`] ?? Number.NaN),
        redis: redis ? (used.redis ?? null) : null,
        influxd: used.influxd ?? null,
        load: used.load ?? null,
      },
      redis:
        before && after
          ? {
              commands: after.commands - before.commands,
              publish: after.publish - before.publish,
              netInputBytes: after.netInputBytes - before.netInputBytes,
              netOutputBytes: after.netOutputBytes - before.netOutputBytes,
            }
          : null,
      payloadBytes: sent.payloadBytes,
    };
    const gatewayCpu = result.cpu.gateways.reduce((sum, x) => sum + x, 0);
    ctx.log(
      `  ${setupName(setup)} run ${run + 1}: ${Math.round(result.storedPerS ?? 0).toLocaleString('en-US')} stored/s, ${storedCount}/${messages} in influxd, ` +
        `CPU ${(((gatewayCpu + (result.cpu.redis ?? 0)) / messages) * 1e6).toFixed(1)} µs/reading` +
        (result.redis ? `, Redis ${(result.redis.commands / messages).toFixed(2)} commands/reading` : ''),
    );
    return result;
  } finally {
    await load.stop();
  }
}

/**
 * Waits until every node sees all of them and each site has exactly one owner. Nodes started together first see
 * themselves alone; until their heartbeats meet, a node refuses what another forwards for a site it no longer owns,
 * and the device is disconnected to send it again, which the load generator does not do.
 */
async function agreed(nodes: BenchChild[], sites: number, timeoutMs = 30_000): Promise<void> {
  const deadline = wallMs() + timeoutMs;
  for (;;) {
    const views = await Promise.all(nodes.map((node) => node.call<{ members: number; sitesOwned: number }>('cluster')));
    const owned = views.reduce((sum, view) => sum + view.sitesOwned, 0);
    if (views.every((view) => view.members === nodes.length) && owned === sites) return;
    if (wallMs() > deadline)
      throw new Error(`cluster of ${nodes.length} did not agree within ${timeoutMs} ms: ${JSON.stringify(views)} (${sites} sites)`);
    await sleep(100);
  }
}

/** Every setup × run; one redis-server for the section (each setup its own node ids and sites), fresh gateway processes per setup. */
export async function runCluster(
  ctx: ClusterContext,
): Promise<{ redisVersion: string; runs: ClusterRun[]; pubsub: Record<string, unknown>[] }> {
  const server = await startBenchRedis(ctx.redisServer);
  const client = new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const runs: ClusterRun[] = [];
  const pubsub: Record<string, unknown>[] = [];
  try {
    for (const setup of CLUSTER_SETUPS) {
      const groups: DeviceGroup[] = Array.from({ length: ctx.runs }, (_, run) =>
        Array.from({ length: ctx.devices }, (__, i) => ({
          site: siteOf(setup, run, i),
          prefix: `${siteOf(setup, run, i)}-d`,
          count: 1,
          secretHash: ctx.secretHash,
        })),
      ).flat();
      ctx.log(`cluster: ${setupName(setup)}`);
      const nodes = await Promise.all(
        Array.from({ length: setup.nodes }, (_, k) => {
          const args: GatewayServerArgs = {
            influxUrl: ctx.influxUrl,
            database: DATABASE,
            groups,
            token: TOKEN,
            ...(setup.cluster ? { cluster: { redisUrl: server.url, nodeId: `bench-n${setup.nodes}-${k}` } } : {}),
          };
          return spawnChild('servers/gateway-server.ts', args);
        }),
      );
      try {
        if (setup.cluster) {
          await agreed(nodes, groups.length);
          const numpat = await client.pubsub('NUMPAT');
          const channels = (await client.pubsub('CHANNELS')) as string[];
          pubsub.push({
            nodes: setup.nodes,
            patterns: numpat,
            channels: channels.length,
            clients: String(await client.call('CLIENT', 'LIST'))
              .trim()
              .split('\n').length,
          });
        }
        for (let run = 0; run < ctx.runs; run += 1)
          runs.push(await measure(setup, nodes, run, ctx, setup.cluster ? { server, client } : null));
      } finally {
        await Promise.all(nodes.map((node) => node.stop()));
      }
    }
  } finally {
    client.disconnect();
    await server.stop();
  }
  return { redisVersion: server.version, runs, pubsub };
}
