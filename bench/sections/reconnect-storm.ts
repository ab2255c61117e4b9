/**
 * Section `storm` (issue 17): a reconnect storm. A fresh gateway (own process, shipped defaults, durable store on)
 * has `devices` dust collectors in sites of PER_SITE, registered with `reportingIntervalMs` = the reading interval
 * (5 s), so the profile's own `device_silent` ladder (3 intervals → yellow) raises after 15 s of silence. Nobody
 * sends until every device has its silence alarm (the outage). Then all reconnect at once (load child
 * `load/storm-load.ts`) and each sends a 10-minute backlog at QoS 1 (readings 5 s apart in device time, in order,
 * several in flight) and goes live. Measured from the first CONNECT: every backlog reading counted in influxd,
 * every silence alarm cleared (GET /api/alarms?state=active), the connect rate, PUBACK latency per publish, and the
 * gateway's CPU (/proc/<pid>/stat) and peak RSS (VmHWM of a gateway that started fresh for the run).
 */
import { readFileSync } from 'node:fs';
import { spawnChild } from '../lib/child.js';
import { createDatabase } from '../lib/influx-query.js';
import { processCpuSeconds } from '../lib/proc-cpu.js';
import { median, sleep, wallMs } from '../lib/stats.js';
import type { StormLoadArgs, StormLoadResult } from '../load/storm-load.js';
import type { Row } from '../table.js';

const PER_SITE = 50;
const TOKEN = 'bench-viewer-token-0001';
/** The goal of issue 17: no PUBACK later than this for a device that has connected. */
export const STORM_PUBACK_GOAL_MS = 5_000;

export interface StormContext {
  influxUrl: string;
  secret: string;
  secretHash: string;
  devices: number;
  runs: number;
  /** Backlog readings per device (120: 10 minutes at 5 s). */
  backlog: number;
  intervalMs: number;
  /** Live readings per device after its backlog at least; they go on until the storm is measured. */
  live: number;
  /** QoS 1 PUBLISH unacknowledged per connection. */
  window: number;
  connectConcurrency: number;
  log(line: string): void;
}

export interface StormRun {
  run: number;
  devices: number;
  backlogPerDevice: number;
  livePerDevice: number;
  window: number;
  connectConcurrency: number;
  /** Before the storm: silence alarms active, and how long the outage took to raise them all. */
  alarmsBefore: number;
  outageMs: number;
  connected: number;
  failed: number;
  /** CONNACK 3 answers the devices retried (the gateway's admission: mqtt.admission). */
  busyRefusals: number;
  firstError: string | null;
  connectPerS: number;
  connectMs: StormLoadResult['connectMs'];
  pubackMs: StormLoadResult['pubackMs'];
  loadLoopDelayMaxMs: number;
  /** From the first CONNECT: every backlog reading counted in influxd (null: not within the deadline). */
  backlogStoredMs: number | null;
  /** The gateway's written counter reached the backlog (the influxd count above confirms it). */
  backlogWrittenMs: number | null;
  /** From the first CONNECT: no silence alarm active any more. */
  alarmsClearedMs: number | null;
  /** From the first CONNECT: every backlog PUBACK received (null: some device never connected or never got them all). */
  backlogAckedMs: number | null;
  storedBacklog: number;
  storedAll: number;
  /** Every reading published (backlog and live) and acknowledged. */
  expectedAll: number;
  /** Alarm transitions (any rule) when stored and cleared were reached: silence raises beyond `devices` are re-raises. */
  alarmEvents: { raised: number; cleared: number };
  gatewayCpuSeconds: number | null;
  /** CPU seconds over the storm's wall time (first CONNECT until stored and cleared): cores busy. */
  gatewayCores: number | null;
  rssBeforeBytes: number;
  rssPeakSampledBytes: number;
  rssHwmBytes: number;
  wallSeconds: number;
}

const statusKb = (pid: number, field: 'VmRSS' | 'VmHWM'): number => {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

async function activeSilenceAlarms(httpUrl: string): Promise<number> {
  const response = await fetch(`${httpUrl}/api/alarms?${new URLSearchParams({ state: 'active', q: 'device_silent', limit: '1' })}`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (!response.ok) throw new Error(`GET /api/alarms: HTTP ${response.status}`);
  return ((await response.json()) as { total: number }).total;
}

async function alarmEventCounts(httpUrl: string): Promise<{ raised: number; cleared: number }> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const sum = (type: string): number =>
    text
      .split('\n')
      .filter((line) => line.startsWith('gateway_alarm_events_total{') && line.includes(`type="${type}"`))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { raised: sum('alarm.raised'), cleared: sum('alarm.cleared') };
}

async function countPoints(url: string, database: string, before?: number): Promise<number> {
  const q = `SELECT count("diff_pressure") FROM "telemetry"${before === undefined ? '' : ` WHERE time < ${before}ms`}`;
  const response = await fetch(`${url}/query?${new URLSearchParams({ db: database, q })}`);
  if (!response.ok) throw new Error(`InfluxDB query failed with HTTP ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
  const value = body.results?.[0]?.series?.[0]?.values?.[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

export async function runStorm(ctx: StormContext): Promise<StormRun[]> {
  const results: StormRun[] = [];
  const sites = Math.ceil(ctx.devices / PER_SITE);
  const backlogTotal = ctx.devices * ctx.backlog;
  // generous: a slow 2-core box stores ≥ 2k readings/s; the live phase and connects come on top
  const deadlineMs = 120_000 + (backlogTotal / 2_000) * 1000 + ctx.live * ctx.intervalMs;
  for (let run = 0; run < ctx.runs; run += 1) {
    const database = `bench_storm_${run}`;
    await createDatabase(ctx.influxUrl, database);
    // A fresh gateway per run: its peak RSS is this run's, and its alarms have no flapping history.
    const gateway = await spawnChild(
      'servers/gateway-server.ts',
      {
        influxUrl: ctx.influxUrl,
        database,
        groups: Array.from({ length: sites }, (_, k) => ({
          site: `storm-${k}`,
          prefix: `storm-s${k}-`,
          count: Math.min(PER_SITE, ctx.devices - k * PER_SITE),
          secretHash: ctx.secretHash,
          attributes: { reportingIntervalMs: ctx.intervalMs },
        })),
        token: TOKEN,
      },
      // BENCH_STORM_NODE_ARGS: node flags for the storm's gateway, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (a
      // profile per thread; NODE_OPTIONS refuses --cpu-prof)
      { readyTimeoutMs: 180_000, nodeArgs: process.env.BENCH_STORM_NODE_ARGS?.split(' ').filter(Boolean) ?? [] },
    );
    const startedAt = wallMs();
    const httpUrl = String(gateway.info.httpUrl);
    const loadArgs: StormLoadArgs = {
      port: Number(gateway.info.port),
      prefix: 'storm-s',
      sitePrefix: 'storm-',
      perSite: PER_SITE,
      devices: ctx.devices,
      secret: ctx.secret,
      backlog: ctx.backlog,
      intervalMs: ctx.intervalMs,
      live: ctx.live,
      maxLive: ctx.live + Math.ceil(deadlineMs / ctx.intervalMs) + 2,
      window: ctx.window,
      connectConcurrency: ctx.connectConcurrency,
    };
    const load = await spawnChild('load/storm-load.ts', loadArgs);
    try {
      // the outage: every device silent until its alarm is raised
      const { backlogEndsAt } = await load.call<{ backlogEndsAt: number }>('prepare', {}, 300_000);
      let alarmsBefore = 0;
      const outageDeadline = wallMs() + 120_000 + ctx.devices * 10;
      while (wallMs() < outageDeadline) {
        alarmsBefore = await activeSilenceAlarms(httpUrl);
        if (alarmsBefore >= ctx.devices) break;
        await sleep(500);
      }
      const outageMs = wallMs() - startedAt;
      if (alarmsBefore < ctx.devices)
        ctx.log(`  storm run ${run + 1}: only ${alarmsBefore}/${ctx.devices} silence alarms raised before the storm`);
      await sleep(1_000);
      const rssBefore = statusKb(gateway.pid, 'VmRSS');
      const cpuBefore = processCpuSeconds(gateway.pid);

      let failure: unknown = null;
      const storm = load.call<StormLoadResult>('storm', {}, deadlineMs + 60_000).catch((error: unknown) => {
        failure = error;
        return null;
      });
      const t0 = wallMs();
      let writtenAt: number | null = null;
      let storedAt: number | null = null;
      let clearedAt: number | null = null;
      let rssPeak = rssBefore;
      let storedBacklog = 0;
      let cpuAtDone: number | null = null;
      let lastAlarmPoll = 0;
      while (wallMs() - t0 < deadlineMs && failure === null && (storedAt === null || clearedAt === null)) {
        await sleep(200);
        rssPeak = Math.max(rssPeak, statusKb(gateway.pid, 'VmRSS'));
        const now = wallMs();
        if (clearedAt === null && now - lastAlarmPoll >= 250) {
          lastAlarmPoll = now;
          if ((await activeSilenceAlarms(httpUrl)) === 0) clearedAt = now;
        }
        if (storedAt === null) {
          if (writtenAt === null) {
            const { written } = await gateway.call<{ written: number }>('counters');
            if (written >= backlogTotal) writtenAt = wallMs();
          } else {
            storedBacklog = await countPoints(ctx.influxUrl, database, backlogEndsAt);
            if (storedBacklog >= backlogTotal) storedAt = wallMs();
          }
        }
        if (storedAt !== null && clearedAt !== null) cpuAtDone = processCpuSeconds(gateway.pid);
      }
      // counted before the devices stop going live: later raises are the end of the run, not the storm
      const alarmEvents = await alarmEventCounts(httpUrl);
      await load.call('stop');
      const result = await storm;
      if (result === null) throw failure instanceof Error ? failure : new Error(String(failure));
      const expectedAll = result.published;
      // everything, the live readings too, in influxd (a few seconds at most after the last PUBACK)
      let storedAll = 0;
      for (let attempt = 0; attempt < 60; attempt += 1) {
        storedAll = await countPoints(ctx.influxUrl, database);
        if (storedAll >= expectedAll) break;
        await sleep(500);
      }
      if (storedAt === null) storedBacklog = await countPoints(ctx.influxUrl, database, backlogEndsAt);
      const first = result.firstConnectAt;
      const doneAt = storedAt !== null && clearedAt !== null ? Math.max(storedAt, clearedAt) : wallMs();
      const cpu = cpuAtDone ?? processCpuSeconds(gateway.pid);
      const gatewayCpuSeconds = cpu === null || cpuBefore === null ? null : cpu - cpuBefore;
      const row: StormRun = {
        run: run + 1,
        devices: ctx.devices,
        backlogPerDevice: ctx.backlog,
        livePerDevice: ctx.live,
        window: ctx.window,
        connectConcurrency: ctx.connectConcurrency,
        alarmsBefore,
        outageMs,
        connected: result.connected,
        failed: result.failed,
        busyRefusals: result.busyRefusals,
        firstError: result.firstError,
        connectPerS: result.connected / Math.max(0.001, (result.lastConnackAt - first) / 1000),
        connectMs: result.connectMs,
        pubackMs: result.pubackMs,
        loadLoopDelayMaxMs: result.loopDelayMaxMs,
        backlogStoredMs: storedAt === null ? null : storedAt - first,
        backlogWrittenMs: writtenAt === null ? null : writtenAt - first,
        alarmsClearedMs: clearedAt === null ? null : clearedAt - first,
        backlogAckedMs: result.backlogAckedAt > 0 ? result.backlogAckedAt - first : null,
        storedBacklog,
        storedAll,
        expectedAll,
        alarmEvents,
        gatewayCpuSeconds,
        gatewayCores: gatewayCpuSeconds === null ? null : gatewayCpuSeconds / ((doneAt - first) / 1000),
        rssBeforeBytes: rssBefore,
        rssPeakSampledBytes: rssPeak,
        rssHwmBytes: statusKb(gateway.pid, 'VmHWM'),
        wallSeconds: (doneAt - first) / 1000,
      };
      const s = (ms: number | null) => (ms === null ? 'not reached' : `${(ms / 1000).toFixed(1)} s`);
      ctx.log(
        `  storm run ${row.run}: ${row.connected}/${row.devices} connected at ${Math.round(row.connectPerS)}/s (${row.busyRefusals} CONNACK 3 retried); backlog stored ${s(row.backlogStoredMs)}, ` +
          `alarms cleared ${s(row.alarmsClearedMs)}; PUBACK p50/p99/max ${row.pubackMs.p50.toFixed(1)}/${row.pubackMs.p99.toFixed(1)}/${row.pubackMs.max.toFixed(0)} ms ` +
          `(${row.pubackMs.over5s} over 5 s); gateway ${gatewayCpuSeconds?.toFixed(1)} CPU s, peak RSS ${(row.rssHwmBytes / 2 ** 20).toFixed(0)} MiB; ` +
          `${row.storedAll}/${row.expectedAll} stored` +
          (row.firstError ? `; first error: ${row.firstError}` : ''),
      );
      results.push(row);
    } finally {
      await load.stop();
      await gateway.stop(60_000);
    }
  }
  return results;
}

/** The section's rows in the bench's table: medians of the runs. */
export function stormRows(runs: StormRun[], fmt: (x: number | null | undefined, digits?: number) => string): Row[] {
  if (runs.length === 0) return [];
  const med = (pick: (r: StormRun) => number | null) => {
    const values = runs.map(pick);
    return values.some((v) => v === null) ? null : median(values as number[]);
  };
  const first = runs[0] as StormRun;
  const label = `${fmt(first.devices)} devices × ${first.backlogPerDevice} backlog readings, QoS 1 ×${first.window} in flight`;
  const n = `${runs.length} run${runs.length > 1 ? 's' : ''}`;
  const maxPuback = med((r) => r.pubackMs.max) ?? Number.NaN;
  const allStored = runs.every((r) => r.storedAll >= r.expectedAll && r.failed === 0);
  return [
    {
      section: '9 storm',
      measure: `reconnect storm, ${label}: first CONNECT → backlog stored in influxd / silence alarms cleared, s (${n})`,
      result: `${fmt((med((r) => r.backlogStoredMs) ?? Number.NaN) / 1000, 1)} / ${fmt((med((r) => r.alarmsClearedMs) ?? Number.NaN) / 1000, 1)}`,
      goal: 'measured',
      status: `${allStored ? `all stored: ${fmt(med((r) => r.expectedAll))} in influxd` : 'NOT MET: points missing or devices not connected'}; ${fmt(
        med((r) => r.alarmEvents.raised - r.devices),
      )} alarms raised during the storm`,
    },
    {
      section: '9 storm',
      measure:
        'reconnect storm: PUBACK latency per publish p50 / p99 / max ms (connected devices); connects/s, CONNACK wait p50 / max ms (from the first CONNECT, CONNACK 3 retried)',
      result: `${fmt(
        med((r) => r.pubackMs.p50),
        1,
      )} / ${fmt(
        med((r) => r.pubackMs.p99),
        1,
      )} / ${fmt(maxPuback)}; ${fmt(med((r) => r.connectPerS))}/s, ${fmt(med((r) => r.connectMs.p50))} / ${fmt(
        med((r) => r.connectMs.max),
      )} (${fmt(med((r) => r.busyRefusals))} CONNACK 3)`,
      goal: 'PUBACK ≤ 5 s for a connected device',
      status: maxPuback <= STORM_PUBACK_GOAL_MS ? 'met' : `NOT MET (${fmt(med((r) => r.pubackMs.over5s))} over 5 s)`,
    },
    {
      section: '9 storm',
      measure: 'reconnect storm: gateway CPU s (cores busy); RSS before → peak MiB',
      result: `${fmt(
        med((r) => r.gatewayCpuSeconds),
        1,
      )} (${fmt(
        med((r) => r.gatewayCores),
        2,
      )}); ${fmt((med((r) => r.rssBeforeBytes) ?? Number.NaN) / 2 ** 20)} → ${fmt((med((r) => r.rssHwmBytes) ?? Number.NaN) / 2 ** 20)}`,
      goal: '',
      status: '',
    },
  ];
}
