/**
 * Section 4: concurrent authenticated device connections. The gateway (own process) has `count` devices
 * that share one precomputed secret hash (the default salted SHA-256), so every CONNECT after the first verifies from the gateway's
 * cache and the figure is the broker's connection cost; `cold` more devices have their own hashes and
 * show the first-connect cost of a fleet (one hash verification each, uncached). RSS is read from /proc. Devices are spread
 * over sites of PER_SITE, as in a real fleet (the rule engine's site-wide group rules scan a site's devices).
 */
import { readFileSync } from 'node:fs';
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
  rssConnectedBytes: number;
  bytesPerConnection: number;
  /** The same after full garbage collections on both sides (idle: what the connections hold, not the connect flood's garbage). */
  rssSettledIdleBytes: number;
  rssSettledConnectedBytes: number;
  settledBytesPerConnection: number;
  /** The main thread's JS heap per connection after those collections: the objects a connection holds. */
  heapBytesPerConnection: number;
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

const rssOf = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
};

export async function runConnections(ctx: ConnectionsContext): Promise<ConnectionsRun[]> {
  const coldSecret = `${ctx.secret}-cold`;
  const coldGroups = await Promise.all(
    Array.from({ length: ctx.cold * ctx.runs }, async (_, i) => ({
      site: `conn-cold-${i}`,
      prefix: `cold-s${i}-`,
      count: 1,
      secretHash: await hashSecret(coldSecret),
    })),
  );
  const startGateway = () =>
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
      },
      // --expose-gc: the `settle` request runs full collections before an idle reading.
      { readyTimeoutMs: 120_000, nodeArgs: ['--expose-gc'] },
    );
  const results: ConnectionsRun[] = [];
  // A fresh gateway per run: V8 keeps the heap it grew, so a second run in the same process measures the last one.
  for (let run = 0; run < ctx.runs; run += 1) {
    const gateway = await startGateway();
    const port = Number(gateway.info.port);
    try {
      await sleep(1_000);
      const rssIdle = rssOf(gateway.pid);
      const settledIdle = await gateway.call<{ rss: number; heapUsed: number }>('settle');
      const load = await spawnChild('load/connect-load.ts', {
        port,
        prefix: 'conn-s',
        perSite: PER_SITE,
        first: 0,
        count: ctx.count,
        secret: ctx.secret,
        concurrency: ctx.concurrency,
      });
      const cold = await spawnChild('load/connect-load.ts', {
        port,
        prefix: 'cold-s',
        perSite: 1,
        first: run * ctx.cold,
        count: ctx.cold,
        secret: coldSecret,
        concurrency: ctx.cold,
      });
      try {
        const warm = await load.call<{ connected: number; failed: number; firstError: string | null; perS: number }>(
          'connect',
          {},
          300_000,
        );
        await sleep(500);
        const rssConnected = rssOf(gateway.pid);
        const settledConnected = await gateway.call<{ rss: number; heapUsed: number }>('settle');
        const coldResult = await cold.call<{ connected: number; perS: number }>('connect', {}, 120_000);
        const row: ConnectionsRun = {
          run,
          target: ctx.count,
          connected: warm.connected,
          failed: warm.failed,
          firstError: warm.firstError,
          connectPerS: warm.perS,
          rssIdleBytes: rssIdle,
          rssConnectedBytes: rssConnected,
          bytesPerConnection: (rssConnected - rssIdle) / Math.max(1, warm.connected),
          rssSettledIdleBytes: settledIdle.rss,
          rssSettledConnectedBytes: settledConnected.rss,
          settledBytesPerConnection: (settledConnected.rss - settledIdle.rss) / Math.max(1, warm.connected),
          heapBytesPerConnection: (settledConnected.heapUsed - settledIdle.heapUsed) / Math.max(1, warm.connected),
          coldConnected: coldResult.connected,
          coldConnectPerS: coldResult.perS,
        };
        ctx.log(
          `  connections run ${run + 1}: ${row.connected}/${row.target} at ${Math.round(row.connectPerS)}/s, RSS ${(rssConnected / 2 ** 20).toFixed(0)} MiB ` +
            `(idle ${(rssIdle / 2 ** 20).toFixed(0)} MiB; after GC ${(settledConnected.rss / 2 ** 20).toFixed(0)} MiB, idle ${(settledIdle.rss / 2 ** 20).toFixed(0)} MiB; ` +
            `main-thread heap ${(row.heapBytesPerConnection / 1024).toFixed(1)} KiB per connection), cold ${row.coldConnected}/${ctx.cold} at ${row.coldConnectPerS.toFixed(1)}/s` +
            (row.firstError ? `, first error: ${row.firstError}` : ''),
        );
        results.push(row);
      } finally {
        await load.stop();
        await cold.stop();
      }
    } finally {
      await gateway.stop(30_000);
    }
  }
  return results;
}
