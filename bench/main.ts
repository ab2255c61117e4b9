/**
 * `npm run bench`: every benchmark of issue 6 in one bounded run on 127.0.0.1, one table of medians,
 * raw results as JSON in bench/results/. Each broker under test, each load generator and each engine
 * benchmark runs in a process of its own; one influxd (Debian's InfluxDB 1.x) serves the run.
 *
 *   bash bench/run.sh [--only rules,ingest,store,puback,profile,latency,connections,silence,spool,cluster,storm]
 *                     [--storm-devices N] [--storm-runs N] [--help]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { withUsageExit } from '../gateway/src/cli/usage-exit.js';
import { hashSecret } from '../gateway/src/devices/secret-hash.js';
import { startLocalInfluxd } from '../gateway/src/sinks/influx/local-influxd.js';
import { spawnChild } from './lib/child.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { findRedisServer } from './lib/redis-server.js';
import { median, percentile } from './lib/stats.js';
import { runAlarmLatency } from './sections/alarm-latency.js';
import { CLUSTER_SETUPS, type ClusterRun, runCluster, setupName } from './sections/cluster-throughput.js';
import { type BareAedesConnections, runBareAedesConnections, runConnections } from './sections/connections.js';
import { type IngestRun, runIngest, SHAPES } from './sections/ingest-throughput.js';
import { type PubackRun, runPubackLatency } from './sections/puback-latency.js';
import { runStorm, type StormRun, stormRows } from './sections/reconnect-storm.js';
import { type Row, renderTable } from './table.js';

const CORES = cpus().length;
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RESULTS = join(HERE, 'results');
const RUNS = 3;
const SECRET = 'bench-device-secret';
const SECTIONS = [
  'rules',
  'ingest',
  'store',
  'puback',
  'profile',
  'latency',
  'connections',
  'silence',
  'spool',
  'cluster',
  'storm',
] as const;
type Section = (typeof SECTIONS)[number];

const parseSections = (value: string): Set<Section> => {
  const names = value.split(',').filter((name) => name !== '');
  const unknown = names.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new InvalidArgumentError(`no section ${unknown.join(', ')} (sections: ${SECTIONS.join(', ')})`);
  if (names.length === 0) throw new InvalidArgumentError(`name at least one section (${SECTIONS.join(', ')})`);
  return new Set(names as Section[]);
};
const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
  return n;
};
const program = withUsageExit(new Command())
  .name('bench')
  .description('Runs the benchmarks (a few minutes, 127.0.0.1 only), prints one table of medians, writes raw results to bench/results/.')
  .option('--only <sections>', `comma-separated sections to run, of ${SECTIONS.join(',')} (default all)`, parseSections)
  .option('--storm-devices <n>', 'devices in the reconnect storm (section storm)', positiveInt, 10_000)
  .option('--storm-runs <n>', 'runs of the reconnect storm (a 10,000-device run takes a few minutes)', positiveInt, 1)
  .addHelpText(
    'after',
    `
Examples:
  npm run bench
  npm run bench -- --only rules,ingest
  npm run bench -- --only storm --storm-devices 1000 --storm-runs 3
  bash bench/run.sh --only rules

Exit status: 0 ran, 1 a benchmark failed, 2 invalid arguments.`,
  )
  .parse();
const options = program.opts<{ only?: Set<Section>; stormDevices: number; stormRuns: number }>();
const only: ReadonlySet<Section> = options.only ?? new Set(SECTIONS);
const enabled = (section: Section): boolean => only.has(section);

const began = Date.now();
const log = (line: string): void => console.log(`[${((Date.now() - began) / 1000).toFixed(0).padStart(3)} s] ${line}`);
const git = (...args: string[]): string => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

const fdLimit = Number(process.env.BENCH_FD_LIMIT ?? 20_000);
const mosquitto = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((path) => spawnSync(path, ['-h']).error === undefined) ?? null;
const nodeRedPackage = join(HERE, 'peers/node-red/node_modules/node-red/package.json');
const nodeRedInstalled = existsSync(nodeRedPackage);
const environment = {
  date: new Date().toISOString(),
  commit: git('rev-parse', '--short', 'HEAD'),
  dirty: git('status', '--porcelain', '--', 'gateway', 'rules', 'profiles', 'bench') !== '',
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  memoryBytes: totalmem(),
  freeMemoryBytes: freemem(),
  node: process.version,
  loadAverageAtStart: loadavg(),
  fdLimit,
  mosquitto: mosquitto ? (spawnSync(mosquitto, ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '') : null,
  influxd: spawnSync('influxd', ['version'], { encoding: 'utf8' }).stdout.trim(),
  nodeRed: nodeRedInstalled ? JSON.parse(readFileSync(nodeRedPackage, 'utf8')).version : null,
};
log(
  `benchmarks on ${environment.nproc} cores, ${(environment.memoryBytes / 2 ** 30).toFixed(1)} GiB, node ${environment.node}, commit ${environment.commit}`,
);
log(`load average at start: ${environment.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')}`);

mkdirSync(RESULTS, { recursive: true });
const influxDir = mkdtempSync(join(tmpdir(), 'bench-influxd-'));
const influxd = await startLocalInfluxd({ dataDir: influxDir });
// An interrupted run stops its influxd too.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    void influxd.stop().finally(() => process.exit(130));
  });
}
const secretHash = await hashSecret(SECRET);
const raw: Record<string, unknown> = { environment };

try {
  // ---- 6. rule engine alone (bench/rules-engine.ts, its own process) ----
  if (enabled('rules')) {
    log('rule engine alone (bench/rules-engine.ts)');
    const child = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, 'rules-engine.ts')], { cwd: ROOT, encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`rules-engine.ts failed: ${child.stderr}`);
    raw.rules = JSON.parse(readFileSync(join(RESULTS, 'rules-engine.json'), 'utf8'));
  }

  // ---- 1, 2 and the peer: ingest ----
  if (enabled('ingest') || enabled('store')) {
    const ingest: IngestRun[] = [];
    const ctx = {
      influxUrl: influxd.url,
      influxdPid: influxd.pid,
      secret: SECRET,
      secretHash,
      mosquitto,
      runs: RUNS,
      messagesPerRun: 30_000,
      log,
    };
    if (enabled('ingest')) {
      log('ingest through bare aedes (no-op hook)');
      ingest.push(...(await runIngest('bare-aedes', ctx)));
    }
    log('ingest through the gateway');
    ingest.push(...(await runIngest('gateway', ctx)));
    log('ingest through the gateway with its lane on the main thread (lane.thread: main)');
    ingest.push(...(await runIngest('gateway-main', ctx)));
    if (enabled('store')) {
      // The same load without the durable store (store.enabled: false): what acknowledged-means-durable costs.
      log('ingest through the gateway without the store (store.enabled: false), worker and main thread');
      ingest.push(...(await runIngest('gateway-memory', ctx)));
      ingest.push(...(await runIngest('gateway-main-memory', ctx)));
    }
    if (enabled('ingest') && mosquitto) {
      log('ingest through Mosquitto + subscriber pipeline');
      ingest.push(...(await runIngest('mosquitto', ctx)));
    } else if (enabled('ingest')) log('mosquitto not installed: peer skipped');
    if (enabled('ingest') && nodeRedInstalled) {
      log('ingest through a Node-RED flow (aedes broker node, function node, InfluxDB batch node)');
      ingest.push(...(await runIngest('node-red', ctx)));
    } else if (enabled('ingest')) log('Node-RED peer not installed (npm ci --prefix bench/peers/node-red): peer skipped');
    raw.ingest = ingest;
  }

  // ---- PUBACK latency, store on and off ----
  if (enabled('puback')) {
    log('PUBACK latency: one device, QoS 1, one publish at a time, store on and off, worker and main thread');
    raw.puback = await runPubackLatency({ influxUrl: influxd.url, secret: SECRET, secretHash, runs: RUNS, messages: 2_000, log });
  }

  // ---- profile of the gateway's hot path ----
  if (enabled('profile')) {
    // One event loop shows the whole hot path in one profile: the gateway runs with lane.thread: main here.
    log('profiling the gateway (node --cpu-prof, lane on the main thread) under QoS 0 ×1 and QoS 1 ×10 load');
    const dir = join(RESULTS, 'cpu-profile');
    rmSync(dir, { recursive: true, force: true });
    await runIngest('gateway-main', {
      influxUrl: influxd.url,
      secret: SECRET,
      secretHash,
      mosquitto,
      runs: 1,
      messagesPerRun: 40_000,
      log,
      shapes: [SHAPES[0], SHAPES[3]].filter((s) => s !== undefined),
      gatewayNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    });
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
    if (file) raw.profile = { file: join('bench/results/cpu-profile', file), ...topSelfTime(join(dir, file), 20, ROOT) };
  }

  // ---- 3. alarm latency under load ----
  if (enabled('latency')) {
    log('alarm latency at 5k msg/s background load');
    const latencyContext = {
      influxUrl: influxd.url,
      secret: SECRET,
      secretHash,
      runs: RUNS,
      // 3 × 400 probes: enough for a p99 per run and a p99.9 over all of them.
      probesPerRun: 400,
      intervalMs: 40,
      backgroundRate: 5_000,
      log,
    };
    raw.latency = await runAlarmLatency(latencyContext);
    // The same probes and load against the floor: bare aedes raising the same alarm, nothing stored.
    raw.latencyFloor = await runAlarmLatency({ ...latencyContext, server: 'floor' });
  }

  // ---- 4. connections ----
  if (enabled('connections')) {
    const count = Math.min(20_000, fdLimit - 500);
    log(`connections: ${count} authenticated devices (file-descriptor limit ${fdLimit})`);
    const context = { influxUrl: influxd.url, secret: SECRET, secretHash, count, cold: 20, runs: RUNS, concurrency: 200, log };
    raw.connections = await runConnections(context);
    raw.connectionsBareAedes = await runBareAedesConnections(context);
  }

  // ---- 5. silence detection at scale ----
  if (enabled('silence')) {
    log('silence detection: 100k devices, 10 s timeout, 250 ms ticks');
    const child = await spawnChild('sections/silence-at-scale.ts', { devices: 100_000, timeoutMs: 10_000, tickMs: 250, feedMs: 2_500 });
    const runs: Record<string, any>[] = [];
    try {
      for (let run = 0; run < RUNS; run += 1) {
        const result = await child.call<Record<string, any>>('run', {}, 120_000);
        log(
          `  silence run ${run + 1}: ${result.raised}/${result.devices} raised, error p50/p99/max ${result.errorMs.p50}/${result.errorMs.p99}/${result.errorMs.max} ms, CPU ${result.cpuMsPerBusyTick.median.toFixed(1)} ms per busy tick`,
        );
        runs.push(result);
      }
      raw.silence = { runs, idle: await child.call('idle') };
    } finally {
      await child.stop();
    }
  }

  // ---- 7. spool drain (the durable on-disk spool and the in-memory queue) and the server's ceiling ----
  if (enabled('spool')) {
    log('InfluxDB sink draining a 150k-point backlog after an outage; direct writer ceiling');
    const child = await spawnChild('sections/spool-drain.ts', { points: 150_000, batchSize: 5_000, directConcurrency: 4 });
    const runs: Record<string, any>[] = [];
    try {
      for (let run = 0; run < RUNS; run += 1) {
        const result = await child.call<Record<string, any>>('run', { run }, 180_000);
        log(
          `  spool run ${run + 1}: sink from disk ${Math.round(result.sink.drainPointsPerS)} points/s (${result.sink.stored}/${result.points} stored), ` +
            `from memory ${Math.round(result.memory.drainPointsPerS)} points/s (${result.memory.stored} stored), ` +
            `direct ×1 ${Math.round(result.directOne.pointsPerS)}, ×4 ${Math.round(result.directMany.pointsPerS)} points/s`,
        );
        runs.push(result);
      }
      raw.spool = runs;
    } finally {
      await child.stop();
    }
  }

  // ---- 8. cluster: 1, 2, 3 nodes on one private redis-server, and one node without cluster (issue 16) ----
  if (enabled('cluster')) {
    const redisServer = findRedisServer();
    if (!redisServer) log('redis-server not installed (apt-get install -y redis-server): cluster skipped');
    else {
      log(
        'cluster: QoS 1, 12 devices (a site each) round-robin over 1, 2, 3 nodes on one redis-server; 1 node without cluster as the baseline',
      );
      raw.cluster = await runCluster({
        influxUrl: influxd.url,
        influxdPid: influxd.pid,
        secret: SECRET,
        secretHash,
        redisServer,
        runs: RUNS,
        messagesPerRun: 30_000,
        devices: 12,
        log,
      });
    }
  }

  // ---- 9. reconnect storm (issue 17): silent devices reconnect at once, each with a 10-minute QoS 1 backlog ----
  if (enabled('storm')) {
    log(
      `reconnect storm: ${options.stormDevices} devices silent until their silence alarms are raised, then all reconnect, 120 readings of backlog each, ${options.stormRuns} run(s)`,
    );
    raw.storm = await runStorm({
      influxUrl: influxd.url,
      secret: SECRET,
      secretHash,
      devices: options.stormDevices,
      runs: options.stormRuns,
      backlog: 120,
      intervalMs: 5_000,
      live: 2,
      window: 10,
      connectConcurrency: 500,
      log,
    });
  }
} finally {
  await influxd.stop();
  rmSync(influxDir, { recursive: true, force: true });
}

environment.loadAverageAtStart = environment.loadAverageAtStart.map((x) => Math.round(x * 100) / 100);
raw.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);
raw.seconds = (Date.now() - began) / 1000;
const rows: Row[] = buildRows(raw);
raw.table = rows;
const stamp = environment.date.replace(/[:.]/g, '-');
writeFileSync(join(RESULTS, `bench-${stamp}.json`), `${JSON.stringify(raw, null, 2)}\n`);
writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(raw, null, 2)}\n`);

console.log('');
console.log(
  `risk-gateway benchmarks — ${environment.date}, commit ${environment.commit}${environment.dirty ? ' (+ uncommitted changes)' : ''}, ` +
    `${environment.nproc} cores, ${(environment.memoryBytes / 2 ** 30).toFixed(1)} GiB, node ${environment.node}, ` +
    `load average ${environment.loadAverageAtStart.join(' ')} → ${(raw.loadAverageAtEnd as number[]).join(' ')}; medians of ${RUNS} runs`,
);
console.log(renderTable(rows));
if (raw.cluster)
  console.log(
    `\n8 cluster: all nodes, redis-server, influxd and the load generator share this machine's ${CORES} cores, so these rows show what the shared namespace costs, not how throughput scales with nodes.`,
  );
if (raw.profile) {
  const profile = raw.profile as ReturnType<typeof topSelfTime>;
  console.log('\ngateway hot path, top self time (node --cpu-prof, whole process incl. start-up):');
  for (const f of profile.functions.slice(0, 12)) console.log(`  ${f.percent.toFixed(1).padStart(5)} %  ${f.function}  ${f.where}`);
}
log(`done in ${Math.round(raw.seconds as number)} s; raw results in bench/results/bench-${stamp}.json`);

function buildRows(results: Record<string, any>): Row[] {
  const out: Row[] = [];
  const fmt = (x: number | null | undefined, digits = 0): string =>
    x === null || x === undefined || Number.isNaN(x)
      ? '—'
      : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const ingest = (results.ingest ?? []) as IngestRun[];
  const puback = (results.puback ?? []) as PubackRun[];
  for (const thread of ['worker', 'main'] as const) {
    const of = (store: boolean) => puback.filter((r) => r.thread === thread && r.store === store);
    const on = of(true);
    const off = of(false);
    if (on.length === 0 || off.length === 0) continue;
    const med = (runs: PubackRun[], pick: (r: PubackRun) => number) => median(runs.map(pick));
    out.push({
      section: '1 puback',
      measure: `PUBACK latency, one device, QoS 1, one at a time, ${thread} thread: p50 / p99 ms, store on vs off`,
      result: `${fmt(
        med(on, (r) => r.p50Ms),
        2,
      )} / ${fmt(
        med(on, (r) => r.p99Ms),
        2,
      )} vs ${fmt(
        med(off, (r) => r.p50Ms),
        2,
      )} / ${fmt(
        med(off, (r) => r.p99Ms),
        2,
      )}`,
      goal: 'measured',
      status: '',
    });
  }
  for (const shape of SHAPES) {
    const of = (target: string) => ingest.filter((r) => r.target === target && r.qos === shape.qos && r.connections === shape.connections);
    const gw = of('gateway');
    const gwMain = of('gateway-main');
    const bare = of('bare-aedes');
    const peer = of('mosquitto');
    const nodeRed = of('node-red');
    const label = `QoS ${shape.qos}, ${shape.connections} conn${shape.connections > 1 ? 's' : ''}`;
    const med = (runs: IngestRun[], pick: (r: IngestRun) => number | null) => median(runs.map((r) => pick(r) ?? 0));
    const storedOk = (runs: IngestRun[]) => runs.every((r) => r.storedCount === r.messages);
    for (const [thread, on, off] of [
      ['worker', gw, of('gateway-memory')],
      ['main', gwMain, of('gateway-main-memory')],
    ] as const) {
      if (on.length === 0 || off.length === 0) continue;
      const rate = (runs: IngestRun[]) => median(runs.map((r) => r.acceptedPerS ?? 0));
      const cpuPerMessage = (runs: IngestRun[]) => median(runs.map((r) => ((r.cpu.server ?? 0) / r.messages) * 1e6));
      out.push({
        section: '1 store',
        measure: `store on / off, ${thread} thread, ${label}: msg/s accepted; server CPU µs/msg`,
        result: `${fmt(rate(on))} / ${fmt(rate(off))} (×${fmt(rate(on) / rate(off), 2)}); ${fmt(cpuPerMessage(on), 1)} / ${fmt(cpuPerMessage(off), 1)}`,
        goal: 'measured',
        status: storedOk(on) && storedOk(off) ? 'all stored in both' : 'NOT MET: points missing',
      });
    }
    if (gw.length > 0) {
      out.push({
        section: '1 ingest',
        measure: `gateway ${label}: msg/s accepted / stored`,
        result: `${fmt(med(gw, (r) => r.acceptedPerS))} / ${fmt(med(gw, (r) => r.storedPerS))}`,
        goal: 'all stored',
        status: storedOk(gw) ? `met: ${gw[0]?.messages}×${gw.length} in influxd` : 'NOT MET: points missing',
      });
    }
    if (gwMain.length > 0) {
      const gain = (pick: (r: IngestRun) => number | null) => (gw.length > 0 ? med(gw, pick) / med(gwMain, pick) : null);
      const workerGain = `${fmt(
        gain((r) => r.acceptedPerS),
        2,
      )} / ×${fmt(
        gain((r) => r.storedPerS),
        2,
      )}`;
      out.push({
        section: '1 before',
        measure: `gateway, lane on the main thread, ${label}: msg/s accepted / stored (worker ×)`,
        result: `${fmt(med(gwMain, (r) => r.acceptedPerS))} / ${fmt(med(gwMain, (r) => r.storedPerS))} (×${workerGain})`,
        goal: 'all stored',
        status: storedOk(gwMain) ? `met: ${gwMain[0]?.messages}×${gwMain.length} in influxd` : 'NOT MET: points missing',
      });
    }
    if (bare.length > 0)
      out.push({
        section: '2 bare',
        measure: `bare aedes ${label}: msg/s`,
        result: fmt(med(bare, (r) => r.acceptedPerS)),
        goal: '',
        status: '',
      });
    if (gw.length > 0 && bare.length > 0) {
      const ratio = med(gw, (r) => r.acceptedPerS) / med(bare, (r) => r.acceptedPerS);
      const storedRatio = med(gw, (r) => r.storedPerS) / med(bare, (r) => r.acceptedPerS);
      out.push({
        section: '2 ratio',
        measure: `gateway / bare aedes ${label} (accepted; stored)`,
        result: `${fmt(ratio, 2)}; ${fmt(storedRatio, 2)}`,
        goal: '≥ 0.8',
        status: ratio >= 0.8 ? 'met' : 'NOT MET',
      });
    }
    if (gw.length > 0) {
      const perMessage = (runs: IngestRun[], pick: (r: IngestRun) => number | null) =>
        med(runs, (r) => ((pick(r) ?? Number.NaN) / r.messages) * 1e6);
      const busy = med(gw, (r) => ((r.cpu?.server ?? 0) + (r.cpu?.influxd ?? 0) + (r.cpu?.load ?? 0)) / (r.wallSeconds * CORES));
      out.push({
        section: '1 CPU',
        measure: `CPU µs per message, ${label}: gateway (all threads) / influxd / load generator; bare aedes`,
        result: `${fmt(
          perMessage(gw, (r) => r.cpu?.server ?? null),
          1,
        )} / ${fmt(
          perMessage(gw, (r) => r.cpu?.influxd ?? null),
          1,
        )} / ${fmt(
          perMessage(gw, (r) => r.cpu?.load ?? null),
          1,
        )}; ${fmt(
          perMessage(bare, (r) => r.cpu?.server ?? null),
          1,
        )}`,
        goal: '',
        status: `${fmt(busy * 100)} % of ${CORES} cores busy`,
      });
    }
    const peers = [
      ['Mosquitto + pipeline', peer],
      ['Node-RED flow', nodeRed],
    ] as const;
    const serverCpuPerMessage = (runs: IngestRun[]) => med(runs, (r) => ((r.cpu.server ?? Number.NaN) / r.messages) * 1e6);
    for (const [name, runs] of peers) {
      if (runs.length === 0) continue;
      out.push({
        section: 'peer',
        measure: `${name} ${label}: msg/s accepted / stored; CPU µs per message (all its processes)`,
        result: `${fmt(med(runs, (r) => r.acceptedPerS))} / ${fmt(med(runs, (r) => r.storedPerS))}; ${fmt(serverCpuPerMessage(runs), 1)}`,
        goal: '',
        status: storedOk(runs) ? 'all stored' : 'points missing',
      });
    }
    const ranPeers = peers.filter(([, runs]) => runs.length > 0);
    if (gw.length > 0 && ranPeers.length > 0) {
      // Readings found in influxd per CPU-second of the system under test (influxd and the load generator left out).
      const perCpuSecond = (runs: IngestRun[]) => med(runs, (r) => (r.storedCount ?? 0) / (r.cpu.server ?? Number.NaN));
      const ours = perCpuSecond(gw);
      const theirs = ranPeers.map(([name, runs]) => ({ name, rate: perCpuSecond(runs), complete: storedOk(runs) }));
      out.push({
        section: 'peer ratio',
        measure: `readings stored per CPU-second, ${label}: gateway / ${theirs.map((p) => p.name).join(' / ')}`,
        result: [ours, ...theirs.map((p) => p.rate)].map((x) => fmt(x)).join(' / '),
        goal: 'gateway > both peers',
        status:
          (ranPeers.length < peers.length ? 'a peer did not run; ' : '') +
          (storedOk(gw) && theirs.every((p) => ours > p.rate) ? 'met' : 'NOT MET') +
          theirs
            .filter((p) => !p.complete)
            .map((p) => `; ${p.name}: points missing`)
            .join(''),
      });
    }
  }
  type LatencyRuns = Awaited<ReturnType<typeof runAlarmLatency>>;
  /** The latency rows of one server's runs: each channel's percentiles, then each thread's pauses. */
  const latencyRows = (latency: LatencyRuns, who: string, goal: string, withStatus: boolean): void => {
    for (const channel of ['webhook', 'sse'] as const) {
      const p = (k: 'p50' | 'p95' | 'p99') => median(latency.map((r) => r[channel][k]));
      // p99.9 needs more samples than one run has: over every run's probes together, a probe that never
      // arrived counted as infinitely late.
      const missing = latency.reduce((sum, r) => sum + (channel === 'webhook' ? r.missing : r.missingSse), 0);
      const pooled = [...latency.flatMap((r) => (channel === 'webhook' ? r.webhookMs : r.sseMs)), ...Array(missing).fill(Infinity)];
      const p999 = percentile(pooled, 99.9);
      out.push({
        section: '3 latency',
        measure: `${who}alarm → ${channel === 'webhook' ? 'signed webhook' : 'SSE event'} at ${fmt(median(latency.map((r) => r.backgroundPerS)))} msg/s: p50 / p95 / p99 ms (median of runs); p99.9 of all ${fmt(pooled.length)}`,
        result: `${fmt(p('p50'), 1)} / ${fmt(p('p95'), 1)} / ${fmt(p('p99'), 1)}; ${fmt(p999, 1)}`,
        goal,
        status: missing > 0 ? `NOT MET: ${missing} never arrived` : !withStatus ? '' : p('p99') <= 10 && p999 <= 25 ? 'met' : 'NOT MET',
      });
    }
    out.push({
      section: '3 latency',
      measure: `${who}CPU per message during those runs, all threads, µs (median of runs)`,
      result: fmt(median(latency.map((r) => r.cpuUsPerMessage)), 1),
      goal: 'measured',
      status: '',
    });
    for (const thread of ['main', 'worker'] as const) {
      const runs = latency.map((r) => r.pauses[thread]).filter((x) => x !== null);
      if (runs.length === 0) continue;
      const m = (pick: (x: (typeof runs)[number]) => number) => median(runs.map(pick));
      out.push({
        section: '3 pauses',
        measure: `during those runs, ${who}${thread} thread: event-loop delay p99 / max ms (beyond prom-client's 10 ms sampling interval); GC events, ms in GC, events > 10 ms (per run)`,
        result: `${fmt(
          m((x) => x.lagP99Ms),
          1,
        )} / ${fmt(
          m((x) => x.lagMaxMs),
          1,
        )}; ${fmt(m((x) => x.gcCount))}, ${fmt(m((x) => x.gcMs))}, ${fmt(m((x) => x.gcOver10ms))}`,
        goal: 'measured',
        status: '',
      });
    }
  };
  const latency = results.latency as LatencyRuns | undefined;
  if (latency) latencyRows(latency, '', 'p99 ≤ 10 ms, p99.9 ≤ 25 ms', true);
  const latencyFloor = results.latencyFloor as LatencyRuns | undefined;
  if (latencyFloor)
    latencyRows(latencyFloor, 'floor (bare aedes raising the same alarm, nothing stored), ', 'measured: what the machine allows', false);
  const connectionRuns = results.connections as Awaited<ReturnType<typeof runConnections>> | undefined;
  const connections = connectionRuns?.filter((r) => !r.settled);
  const settledConnections = connectionRuns?.find((r) => r.settled);
  if (connections && connections.length > 0) {
    const rss = median(connections.map((r) => r.rssConnectedBytes));
    const target = connections[0]?.target ?? 0;
    const perConnection = median(connections.map((r) => r.bytesPerConnection));
    const at20k = rss + (20_000 - target) * perConnection;
    out.push({
      section: '4 connections',
      measure: `${fmt(target)} authenticated device connections: connected, connects/s`,
      result: `${fmt(median(connections.map((r) => r.connected)))}, ${fmt(median(connections.map((r) => r.connectPerS)))}/s`,
      goal: '20,000',
      status: target < 20_000 ? `fd limit ${fdLimit}: ${fmt(target)} tested` : 'met',
    });
    out.push({
      section: '4 connections',
      measure: 'gateway RSS connected (idle before; per connection)',
      result: `${fmt(rss / 2 ** 20)} MiB (${fmt(median(connections.map((r) => r.rssIdleBytes)) / 2 ** 20)} MiB; ${fmt(perConnection / 1024, 1)} KiB)`,
      goal: '≤ 1 GB at 20k',
      status: at20k <= 1e9 ? `met (${fmt(at20k / 2 ** 20)} MiB at 20k, extrapolated)` : 'NOT MET',
    });
    const restarts = connections.flatMap((r) => (r.rssRestartIdleBytes === null ? [] : [r.rssRestartIdleBytes]));
    if (restarts.length > 0)
      out.push({
        section: '4 connections',
        measure: `idle RSS with ${fmt(target)} registered devices: started fresh / restarted on the state it saved`,
        result: `${fmt(median(connections.map((r) => r.rssIdleBytes)) / 2 ** 20)} / ${fmt(median(restarts) / 2 ** 20)} MiB`,
        goal: '',
        status: '',
      });
    const bare = results.connectionsBareAedes as BareAedesConnections | undefined;
    const kib = (bytes: number | null | undefined) => fmt((bytes ?? Number.NaN) / 1024, 1);
    if (settledConnections) {
      out.push({
        section: '4 connections',
        measure: 'per idle connection from idle, one run after full GCs of both threads: RSS; JS heap main / worker thread; bare aedes RSS',
        result: `${kib(settledConnections.bytesPerConnection)} KiB; ${kib(settledConnections.heapBytesPerConnection)} / ${kib(settledConnections.workerHeapBytesPerConnection)} KiB; ${kib(bare?.bytesPerConnection)} KiB`,
        goal: '',
        status: 'includes what the first connections grew once (V8 heap pages)',
      });
      out.push({
        section: '4 connections',
        measure:
          'per idle connection, each of the second half, after full GCs: gateway RSS, RSS less the young generations (main heap); bare aedes the same',
        result:
          `${kib(settledConnections.marginalBytesPerConnection)}, ${kib(settledConnections.marginalOldBytesPerConnection)} KiB (${kib(settledConnections.marginalHeapBytesPerConnection)}); ` +
          `${kib(bare?.marginalBytesPerConnection)}, ${kib(bare?.marginalOldBytesPerConnection)} KiB (${kib(bare?.marginalHeapBytesPerConnection)})`,
        goal: '≤ 8 KiB',
        // the young generations are a fixed cost per thread whose size at the moment of reading moves RSS by MiBs
        status:
          (settledConnections.marginalOldBytesPerConnection ?? Number.POSITIVE_INFINITY) <= 8 * 1024
            ? 'met (RSS less young generations)'
            : 'NOT MET',
      });
    }
    out.push({
      section: '4 connections',
      measure: 'first connect of devices with their own hash (salted SHA-256, the default): connects/s',
      result: `${fmt(median(connections.map((r) => r.coldConnectPerS)), 1)}/s`,
      goal: '',
      status: '',
    });
  }
  const silence = results.silence as { runs: Record<string, any>[]; idle: { cpuMsPerIdleTick: number } } | undefined;
  if (silence) {
    const p99 = median(silence.runs.map((r) => r.errorMs.p99));
    out.push({
      section: '5 silence',
      measure: '100k devices, 10 s timeout: detection error p50 / p99 / max ms',
      result: `${fmt(median(silence.runs.map((r) => r.errorMs.p50)))} / ${fmt(p99)} / ${fmt(median(silence.runs.map((r) => r.errorMs.max)))}`,
      goal: '≤ 1 s',
      status: median(silence.runs.map((r) => r.errorMs.max)) <= 1000 ? 'met' : 'NOT MET',
    });
    out.push({
      section: '5 silence',
      measure: 'CPU per tick: idle (100k timers) / raising ~10k alarms',
      result: `${fmt(silence.idle.cpuMsPerIdleTick, 3)} ms / ${fmt(median(silence.runs.map((r) => r.cpuMsPerBusyTick.median)), 1)} ms`,
      goal: '',
      status: '',
    });
  }
  const rules = results.rules as Record<string, any> | undefined;
  if (rules) {
    out.push({
      section: '6 rules',
      measure: 'rule engine alone: metric evaluations/s (rule evaluations/s)',
      result: `${fmt(rules.throughput.metricEvaluationsPerS)} (${fmt(rules.throughput.ruleEvaluationsPerS)})`,
      goal: '≥ 500,000',
      status: rules.throughput.metricEvaluationsPerS >= 500_000 ? 'met' : 'NOT MET',
    });
    if (rules.steady)
      out.push({
        section: '6 rules',
        measure: `the same, readings of a plant in normal operation (verdict changes a reading: ${fmt(rules.steady.changesPerReading, 3)}, against ${fmt(rules.throughput.changesPerReading, 2)} above)`,
        result: `${fmt(rules.steady.metricEvaluationsPerS)}`,
        goal: 'measured',
        status: '',
      });
    out.push({
      section: '6 rules',
      measure: 'rule state per tracked metric, bytes',
      result: fmt(rules.memory.bytesPerTrackedMetric),
      goal: '≤ 2,048',
      status: rules.memory.bytesPerTrackedMetric <= 2048 ? 'met' : 'NOT MET',
    });
  }
  const spool = results.spool as Record<string, any>[] | undefined;
  if (spool) {
    const sink = median(spool.map((r) => r.sink.drainPointsPerS));
    const ceiling = median(spool.map((r) => Math.max(r.directOne.pointsPerS, r.directMany.pointsPerS)));
    const goal = Math.min(100_000, ceiling);
    const memory = median(spool.map((r) => r.memory.drainPointsPerS));
    out.push({
      section: '7 drain',
      measure: 'InfluxDB sink draining a 150k-point backlog from the on-disk spool (default): points/s (of the ceiling)',
      result: `${fmt(sink)} (${((100 * sink) / ceiling).toFixed(0)} %)`,
      goal: `≥ ${fmt(goal)} (min of 100k, ceiling); ≥ 90 % of the ceiling (issue 17)`,
      status: `${sink >= goal ? 'met' : 'NOT MET'}; ${sink >= 0.9 * ceiling ? 'met' : 'NOT MET'}${spool.every((r) => r.sink.stored === r.points) ? ', all stored' : ', points missing'}`,
    });
    out.push({
      section: '7 drain',
      measure: 'the same from the in-memory queue (store.enabled: false): points/s',
      result: fmt(memory),
      goal: '',
      status: spool.every((r) => r.memory.stored === r.points) ? 'all stored' : 'points missing',
    });
    out.push({
      section: '7 drain',
      measure: 'influxd ceiling, direct writer, 5k-point batches: ×1 / ×4 in flight',
      result: `${fmt(median(spool.map((r) => r.directOne.pointsPerS)))} / ${fmt(median(spool.map((r) => r.directMany.pointsPerS)))}`,
      goal: '',
      status: '',
    });
  }
  const cluster = results.cluster as { runs: ClusterRun[] } | undefined;
  if (cluster) {
    const of = (nodes: number, clustered: boolean) => cluster.runs.filter((r) => r.nodes === nodes && r.cluster === clustered);
    const stored = (runs: ClusterRun[]) => median(runs.map((r) => r.storedPerS ?? 0));
    const baseline = stored(of(1, false));
    for (const setup of CLUSTER_SETUPS) {
      const runs = of(setup.nodes, setup.cluster);
      if (runs.length === 0) continue;
      const gatewayCpu = (r: ClusterRun) => r.cpu.gateways.reduce((sum, x) => sum + x, 0);
      const perReading = (pick: (r: ClusterRun) => number) => median(runs.map((r) => (pick(r) / r.messages) * 1e6));
      const redisShare = setup.cluster ? median(runs.map((r) => (r.cpu.redis ?? 0) / (gatewayCpu(r) + (r.cpu.redis ?? 0)))) : null;
      const commands = setup.cluster ? median(runs.map((r) => (r.redis?.commands ?? 0) / r.messages)) : null;
      const allStored = runs.every((r) => r.storedCount === r.messages);
      const cpuAll = fmt(
        perReading((r) => gatewayCpu(r) + (r.cpu.redis ?? 0)),
        1,
      );
      const cpuRedis = setup.cluster
        ? fmt(
            perReading((r) => r.cpu.redis ?? 0),
            1,
          )
        : '—';
      const share = redisShare === null ? '—' : `${fmt(redisShare * 100)} %`;
      out.push({
        section: '8 cluster',
        measure: `QoS 1, ${runs[0]?.devices} devices, ${setupName(setup)}: readings/s stored; CPU µs/reading, gateways + Redis (Redis); Redis share of that CPU; Redis commands/reading`,
        result: `${fmt(stored(runs))}; ${cpuAll} (${cpuRedis}); ${share}; ${commands === null ? '—' : fmt(commands, 2)}`,
        goal: setup.cluster ? `×${fmt(stored(runs) / baseline, 2)} of no cluster` : '2 cores: overhead, not scaling',
        status: allStored ? `all stored: ${runs[0]?.messages}×${runs.length} in influxd` : 'NOT MET: points missing',
      });
    }
  }
  out.push(...stormRows((results.storm ?? []) as StormRun[], fmt));
  return out;
}
