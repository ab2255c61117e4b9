/**
 * Section 3: alarm latency under load. The gateway (own process) takes a paced 5k msg/s QoS 1 background
 * load (own process) while the probe (own process) raises one threshold alarm per probe device and times
 * the signed webhook and the SSE event. The same with the floor (`servers/alarm-floor-server.ts`: bare aedes that
 * raises the same alarm, nothing stored or judged besides) in its place: what the machine itself allows.
 */
import { randomBytes } from 'node:crypto';
import { spawnChild } from '../lib/child.js';
import { pausesBetween, type ThreadPauses, type ThreadRuntime } from '../lib/runtime-pauses.js';
import { median, percentile, wallMs } from '../lib/stats.js';
import type { PublishLoadArgs } from '../load/publish-load.js';

export interface LatencyRun {
  run: number;
  probes: number;
  /** Probes whose webhook / SSE event did not arrive within 5 s. */
  missing: number;
  missingSse: number;
  badSignatures: number;
  backgroundPerS: number;
  /** The server's CPU (all its threads) during the run per message it accepted (background and probes), µs. */
  cpuUsPerMessage: number;
  webhook: { p50: number; p95: number; p99: number; max: number };
  sse: { p50: number; p95: number; p99: number; max: number };
  webhookMs: number[];
  sseMs: number[];
  /** Each thread's event-loop delay and GC pauses during the run (worker null with the lane on the main thread). */
  pauses: { main: ThreadPauses; worker: ThreadPauses | null };
}

type GatewayRuntime = { main: ThreadRuntime; worker: ThreadRuntime | null };

/** One thread's pauses in a run, for the log line. */
const pausesText = (p: ThreadPauses | null): string =>
  p === null
    ? '—'
    : `event-loop delay p99/max ${p.lagP99Ms.toFixed(1)}/${p.lagMaxMs.toFixed(1)} ms, GC ${p.gcCount} events ${p.gcMs.toFixed(0)} ms (${p.gcOver10ms} > 10 ms)`;

export interface LatencyContext {
  influxUrl: string;
  secret: string;
  secretHash: string;
  runs: number;
  probesPerRun: number;
  intervalMs: number;
  backgroundRate: number;
  /** What takes the load and raises the alarms: the gateway (default), or the floor. */
  server?: 'gateway' | 'floor';
  log(line: string): void;
}

const TOKEN = 'bench-viewer-token-0001';
const summary = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95), p99: percentile(xs, 99), max: percentile(xs, 100) });

export async function runAlarmLatency(ctx: LatencyContext): Promise<LatencyRun[]> {
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const probe = await spawnChild('sections/alarm-probe.ts', { webhookSecret });
  const background = { site: 'latency-bg', prefix: 'latency-bg-d', count: 10, secretHash: ctx.secretHash };
  const probeGroups = Array.from({ length: ctx.runs }, (_, run) => ({
    site: `latency-probe-${run}`,
    prefix: `probe-r${run}-`,
    count: ctx.probesPerRun,
    secretHash: ctx.secretHash,
  }));
  const webhook = { url: probe.info.receiverUrl, secret: webhookSecret };
  /** What takes the load and raises the alarms: the gateway, or the floor. */
  const server =
    ctx.server === 'floor'
      ? await spawnChild('servers/alarm-floor-server.ts', { probeSitePrefix: 'latency-probe-', webhook })
      : await spawnChild('servers/gateway-server.ts', {
          influxUrl: ctx.influxUrl,
          database: 'bench_latency',
          groups: [background, ...probeGroups],
          webhook,
          token: TOKEN,
        });
  const serverName = ctx.server ?? 'gateway';
  const port = Number(server.info.port);
  const seconds = (ctx.runs * (ctx.probesPerRun * ctx.intervalMs + 3_000)) / 1000 + 10;
  const loadArgs: PublishLoadArgs = {
    host: '127.0.0.1',
    port,
    qos: 1,
    site: background.site,
    devices: Array.from({ length: background.count }, (_, i) => `${background.prefix}${i}`),
    password: ctx.secret,
    messagesPerDevice: Math.ceil((ctx.backgroundRate * seconds) / background.count),
    mode: 'paced',
    rate: ctx.backgroundRate,
  };
  const load = await spawnChild('load/publish-load.ts', loadArgs);
  const results: LatencyRun[] = [];
  try {
    const startedAt = wallMs();
    await load.call('go');
    const acceptedBefore = Number((await server.call('stats')).accepted);
    for (let run = 0; run < ctx.runs; run += 1) {
      const runtimeBefore = await server.call<GatewayRuntime>('runtime');
      const before = await server.call('stats');
      const result = await probe.call<{ webhookMs: number[]; sseMs: number[]; missing: number; missingSse: number; badSignatures: number }>(
        'run',
        {
          port,
          httpUrl: server.info.httpUrl,
          token: TOKEN,
          site: `latency-probe-${run}`,
          devices: Array.from({ length: ctx.probesPerRun }, (_, i) => `probe-r${run}-${i}`),
          secret: ctx.secret,
          intervalMs: ctx.intervalMs,
        },
        120_000,
      );
      const runtimeAfter = await server.call<GatewayRuntime>('runtime');
      const stats = await server.call('stats');
      const messages = Number(stats.accepted) - Number(before.accepted);
      const cpuUsPerMessage = ((Number(stats.cpuSeconds) - Number(before.cpuSeconds)) * 1e6) / messages;
      const elapsed = (wallMs() - startedAt) / 1000;
      const row: LatencyRun = {
        run,
        probes: ctx.probesPerRun,
        missing: result.missing,
        missingSse: result.missingSse,
        badSignatures: result.badSignatures,
        backgroundPerS: (Number(stats.accepted) - acceptedBefore) / elapsed,
        cpuUsPerMessage,
        webhook: summary(result.webhookMs),
        sse: summary(result.sseMs),
        webhookMs: result.webhookMs,
        sseMs: result.sseMs,
        pauses: {
          main: pausesBetween(runtimeBefore.main, runtimeAfter.main),
          worker: runtimeBefore.worker && runtimeAfter.worker ? pausesBetween(runtimeBefore.worker, runtimeAfter.worker) : null,
        },
      };
      ctx.log(
        `  alarm latency (${serverName}) run ${run + 1}: webhook p50/p95/p99 ${row.webhook.p50.toFixed(1)}/${row.webhook.p95.toFixed(1)}/${row.webhook.p99.toFixed(1)} ms, ` +
          `SSE ${row.sse.p50.toFixed(1)}/${row.sse.p95.toFixed(1)}/${row.sse.p99.toFixed(1)} ms, background ${Math.round(row.backgroundPerS)} msg/s at ${row.cpuUsPerMessage.toFixed(1)} µs of CPU each, missing ${row.missing} / ${row.missingSse}; ` +
          `main thread ${pausesText(row.pauses.main)}; worker ${pausesText(row.pauses.worker)}`,
      );
      results.push(row);
    }
  } finally {
    await load.call('stop').catch(() => undefined);
    await load.stop();
    await server.stop();
    await probe.stop();
  }
  return results;
}

export const medianOf = (runs: LatencyRun[], pick: (run: LatencyRun) => number): number => median(runs.map(pick));
