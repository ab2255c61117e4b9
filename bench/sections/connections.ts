/**
 * Section 4: concurrent authenticated device connections. The gateway (own process) has `count` devices
 * that share one precomputed secret hash (the default salted SHA-256), so every CONNECT after the first verifies from the gateway's
 * cache and the figure is the broker's connection cost; `cold` more devices have their own hashes and
 * show the first-connect cost of a fleet (one hash verification each, uncached). RSS is read from /proc. Devices are spread
 * over sites of PER_SITE, as in a real fleet (the rule engine's site-wide group rules scan a site's devices).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashSecret } from '../../gateway/src/devices/secret-hash.js';
import { spawnChild } from '../lib/child.js';
import { sleep } from '../lib/stats.js';

const PER_SITE = 50;

export interface ConnectionsRun {
  run: number;
  target: number;
  connected: number;
  failed: number;
  firstError: string | null;
  connectPerS: number;
  rssIdleBytes: number;
  /** Idle RSS of a gateway restarted on the state this run's gateway saved (the runs as deployed; null when settled). */
  rssRestartIdleBytes: number | null;
  rssConnectedBytes: number;
  bytesPerConnection: number;
  /**
   * RSS with the first half of the devices connected, and what each connection of the second half added: the cost
   * of one more connection, without what the first connections grew once (V8's heap pages and young generation,
   * kept after they are collected: a fixed amount, not a per-connection one).
   */
  rssHalfBytes: number;
  marginalBytesPerConnection: number;
  /**
   * The last run only: every reading after full GCs of both threads (the gateway under --expose-gc), so the
   * figures are what the connections hold, not garbage; and the JS heaps per connection (null in the other runs).
   */
  settled: boolean;
  heapBytesPerConnection: number | null;
  workerHeapBytesPerConnection: number | null;
  /** The last run only: the main thread's JS heap per connection of the second half. */
  marginalHeapBytesPerConnection: number | null;
  /** The last run only: RSS less the young generations (MemoryReading.young), per connection of the second half. */
  marginalOldBytesPerConnection: number | null;
  coldConnected: number;
  coldConnectPerS: number;
}

export interface ConnectionsContext {
  influxUrl: string;
  secret: string;
  secretHash: string;
  count: number;
  cold: number;
  runs: number;
  concurrency: number;
  log(line: string): void;
}

/** A reading of the gateway: settled (after full GCs of both threads) or RSS only, as deployed. */
interface MemoryReading {
  rss: number;
  heapUsed: number;
  workerHeapUsed: number;
  /**
   * The young generations' committed size, all threads: V8 grows them under load (up to 96 MiB a thread with the
   * gateway's 32 MiB semi-spaces) and full GCs do not shrink them, so RSS less them is what connections hold.
   */
  young: number;
}

const rssOf = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
};

type Connected = { connected: number; failed: number; firstError: string | null; seconds: number };

/** The warm devices, connected in two halves with a reading after each; open until `stop`. */
interface Halves {
  first: Connected;
  second: Connected;
  halfway: MemoryReading;
  connected: MemoryReading;
  /** What each connection of the second half added to `measure`. */
  perSecondHalf(measure: keyof MemoryReading): number;
  /** What each connection of the second half added to RSS, less what the young generations grew meanwhile. */
  perSecondHalfOld(): number;
  stop(): Promise<void>;
}

/** Connects the warm devices to `port` in two halves, each by a load child of its own, and `read`s after each. */
async function connectInHalves(ctx: ConnectionsContext, port: number, read: () => Promise<MemoryReading>): Promise<Halves> {
  const half = Math.floor(ctx.count / 2);
  const devices = (first: number, count: number) =>
    spawnChild('load/connect-load.ts', {
      port,
      prefix: 'conn-s',
      perSite: PER_SITE,
      first,
      count,
      secret: ctx.secret,
      concurrency: ctx.concurrency,
    });
  const loads = [await devices(0, half), await devices(half, ctx.count - half)] as const;
  const stop = async (): Promise<void> => {
    for (const load of loads) await load.stop();
  };
  try {
    const first = await loads[0].call<Connected>('connect', {}, 300_000);
    await sleep(500);
    const halfway = await read();
    const second = await loads[1].call<Connected>('connect', {}, 300_000);
    await sleep(500);
    const connected = await read();
    const perSecondHalf = (measure: keyof MemoryReading) => (connected[measure] - halfway[measure]) / Math.max(1, second.connected);
    const perSecondHalfOld = () => perSecondHalf('rss') - perSecondHalf('young');
    return { first, second, halfway, connected, perSecondHalf, perSecondHalfOld, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function runConnections(ctx: ConnectionsContext): Promise<ConnectionsRun[]> {
  const coldSecret = `${ctx.secret}-cold`;
  const coldGroups = await Promise.all(
    Array.from({ length: ctx.cold * (ctx.runs + 1) }, async (_, i) => ({
      site: `conn-cold-${i}`,
      prefix: `cold-s${i}-`,
      count: 1,
      secretHash: await hashSecret(coldSecret),
    })),
  );
  const startGateway = (settled: boolean, dataDir?: string) =>
    spawnChild(
      'servers/gateway-server.ts',
      {
        influxUrl: ctx.influxUrl,
        database: 'bench_connections',
        groups: [
          ...Array.from({ length: Math.ceil(ctx.count / PER_SITE) }, (_, k) => ({
            site: `conn-${k}`,
            prefix: `conn-s${k}-`,
            count: Math.min(PER_SITE, ctx.count - k * PER_SITE),
            secretHash: ctx.secretHash,
          })),
          ...coldGroups,
        ],
        token: 'bench-viewer-token-0001',
        ...(dataDir === undefined ? {} : { dataDir }),
      },
      // --expose-gc (the settled run only): the `settle` request runs full collections before a reading.
      { readyTimeoutMs: 120_000, nodeArgs: settled ? ['--expose-gc'] : [] },
    );
  const results: ConnectionsRun[] = [];
  // A fresh gateway per run: V8 keeps the heap it grew, so a second run in the same process measures the last one.
  // The runs as deployed, then one settled run (its collections would change what the others read).
  for (let run = 0; run <= ctx.runs; run += 1) {
    const settled = run === ctx.runs;
    // As deployed, the data directory outlives the gateway: a restart on what it saved is read after it.
    const dataDir = settled ? undefined : mkdtempSync(join(tmpdir(), 'bench-connections-'));
    const gateway = await startGateway(settled, dataDir);
    const port = Number(gateway.info.port);
    const reading = async (): Promise<MemoryReading> =>
      settled
        ? gateway.call<MemoryReading>('settle')
        : { rss: rssOf(gateway.pid), heapUsed: Number.NaN, workerHeapUsed: Number.NaN, young: Number.NaN };
    try {
      await sleep(1_000);
      // A round trip to the lane's worker: it answers once its start-up commit is done.
      await gateway.call('stats');
      const idle = await reading();
      const cold = await spawnChild('load/connect-load.ts', {
        port,
        prefix: 'cold-s',
        perSite: 1,
        first: run * ctx.cold,
        count: ctx.cold,
        secret: coldSecret,
        concurrency: ctx.cold,
      });
      let halves: Halves | undefined;
      try {
        halves = await connectInHalves(ctx, port, reading);
        const { first, second, halfway, connected } = halves;
        const warm = {
          connected: first.connected + second.connected,
          failed: first.failed + second.failed,
          firstError: first.firstError ?? second.firstError,
          perS: (first.connected + second.connected) / (first.seconds + second.seconds),
        };
        const coldResult = await cold.call<{ connected: number; perS: number }>('connect', {}, 120_000);
        const row: ConnectionsRun = {
          run,
          target: ctx.count,
          connected: warm.connected,
          failed: warm.failed,
          firstError: warm.firstError,
          connectPerS: warm.perS,
          rssIdleBytes: idle.rss,
          rssRestartIdleBytes: null,
          rssConnectedBytes: connected.rss,
          bytesPerConnection: (connected.rss - idle.rss) / Math.max(1, warm.connected),
          rssHalfBytes: halfway.rss,
          marginalBytesPerConnection: halves.perSecondHalf('rss'),
          settled,
          heapBytesPerConnection: settled ? (connected.heapUsed - idle.heapUsed) / Math.max(1, warm.connected) : null,
          workerHeapBytesPerConnection: settled ? (connected.workerHeapUsed - idle.workerHeapUsed) / Math.max(1, warm.connected) : null,
          marginalHeapBytesPerConnection: settled ? halves.perSecondHalf('heapUsed') : null,
          marginalOldBytesPerConnection: settled ? halves.perSecondHalfOld() : null,
          coldConnected: coldResult.connected,
          coldConnectPerS: coldResult.perS,
        };
        ctx.log(
          `  connections ${settled ? 'settled run' : `run ${run + 1}`}: ${row.connected}/${row.target} at ${Math.round(row.connectPerS)}/s, ` +
            `RSS ${(row.rssConnectedBytes / 2 ** 20).toFixed(0)} MiB (idle ${(row.rssIdleBytes / 2 ** 20).toFixed(0)} MiB)` +
            (settled
              ? `, per connection after full GCs: RSS ${(row.bytesPerConnection / 1024).toFixed(1)} KiB, main heap ${((row.heapBytesPerConnection ?? 0) / 1024).toFixed(1)} KiB, worker heap ${((row.workerHeapBytesPerConnection ?? 0) / 1024).toFixed(1)} KiB`
              : '') +
            `; each of the second half added RSS ${(row.marginalBytesPerConnection / 1024).toFixed(1)} KiB` +
            (settled
              ? ` (main heap ${((row.marginalHeapBytesPerConnection ?? 0) / 1024).toFixed(1)} KiB; RSS less young generations ${((row.marginalOldBytesPerConnection ?? 0) / 1024).toFixed(1)} KiB)`
              : '') +
            `, cold ${row.coldConnected}/${ctx.cold} at ${row.coldConnectPerS.toFixed(1)}/s` +
            (row.firstError ? `, first error: ${row.firstError}` : ''),
        );
        results.push(row);
      } finally {
        await halves?.stop();
        await cold.stop();
      }
    } finally {
      await gateway.stop(30_000);
    }
    if (dataDir === undefined) continue;
    try {
      const restarted = await startGateway(false, dataDir);
      try {
        await sleep(1_000);
        await restarted.call('stats');
        const rss = rssOf(restarted.pid);
        const row = results.find((r) => r.run === run);
        if (row) row.rssRestartIdleBytes = rss;
        ctx.log(`  connections run ${run + 1}: restarted on its saved state, idle RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
      } finally {
        await restarted.stop(30_000);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return results;
}

/** Bare aedes's memory per connection, read as the gateway's settled run reads it (the same devices, halves, GCs). */
export interface BareAedesConnections {
  connected: number;
  /** After full GCs: RSS per connection from idle, and what each connection of the second half added. */
  bytesPerConnection: number;
  marginalBytesPerConnection: number;
  marginalHeapBytesPerConnection: number;
  marginalOldBytesPerConnection: number;
}

/**
 * The same connections to bare aedes (bench/servers/bare-aedes-server.ts: no authentication, nothing stored), in
 * the same run: what of the gateway's memory per connection is aedes's and Node's own.
 */
export async function runBareAedesConnections(ctx: ConnectionsContext): Promise<BareAedesConnections> {
  const server = await spawnChild('servers/bare-aedes-server.ts', {}, { nodeArgs: ['--expose-gc'] });
  const port = Number(server.info.port);
  const settle = () => server.call<MemoryReading>('settle');
  let halves: Halves | undefined;
  try {
    const idle = await settle();
    halves = await connectInHalves(ctx, port, settle);
    const connected = halves.first.connected + halves.second.connected;
    const result: BareAedesConnections = {
      connected,
      bytesPerConnection: (halves.connected.rss - idle.rss) / Math.max(1, connected),
      marginalBytesPerConnection: halves.perSecondHalf('rss'),
      marginalHeapBytesPerConnection: halves.perSecondHalf('heapUsed'),
      marginalOldBytesPerConnection: halves.perSecondHalfOld(),
    };
    ctx.log(
      `  connections, bare aedes: ${result.connected}/${ctx.count}, per connection after full GCs: RSS ${(result.bytesPerConnection / 1024).toFixed(1)} KiB; ` +
        `each of the second half added RSS ${(result.marginalBytesPerConnection / 1024).toFixed(1)} KiB (heap ${(result.marginalHeapBytesPerConnection / 1024).toFixed(1)} KiB; ` +
        `RSS less young generation ${(result.marginalOldBytesPerConnection / 1024).toFixed(1)} KiB)`,
    );
    return result;
  } finally {
    await halves?.stop();
    await server.stop(30_000);
  }
}
