/**
 * Benchmark of the telemetry lane's work in-process (issue 17, the worker's share of the CPU per reading): the lane's
 * core as the gateway builds it (buildLaneCore: decode, validate, normalise, seq window, rules, line protocol, the
 * local store's commits and its checkpointer thread, the InfluxDB sink writing to a real influxd), fed turns of payloads from 10 dust
 * collectors — no broker, no thread crossing, so the figure moves only with the lane's own code. The store on and
 * off, alternating, medians of RUNS runs; CPU time of this process (the sink's HTTP writes included, influxd not).
 * Prints a table and writes bench/results/lane-core.json. A run right after one of the other side is up to 5 µs slower
 * (the JIT settles again on the other kind of spool): to compare two builds, run one side (`--store on`).
 * Turns of 10 (commits of one reading a device) show the per-commit costs; 200, those of each reading.
 *
 *   bash scripts/ensure-built.sh gateway/src/gateway.js && node --expose-gc --import tsx bench/lane-core.ts [--turn 40] [--store both|on|off]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LaneItem, LaneOutlet } from '../gateway/src/lane/telemetry-lane.js';
import { built } from './lib/built.js';
import { dustCollectorReports, telemetryPayload } from './lib/payloads.js';
import { median } from './lib/stats.js';

const { validateConfig } = await built<typeof import('../gateway/src/config/load-config.js')>('gateway/src/config/load-config.js');
const { createDeviceRegistry } = await built<typeof import('../gateway/src/devices/device-registry.js')>(
  'gateway/src/devices/device-registry.js',
);
const { buildLaneCore, laneConfigOf } = await built<typeof import('../gateway/src/lane/build-lane-core.js')>(
  'gateway/src/lane/build-lane-core.js',
);
const { createLogger } = await built<typeof import('../gateway/src/observability/logger.js')>('gateway/src/observability/logger.js');
const { createGatewayMetrics } = await built<typeof import('../gateway/src/observability/metrics.js')>(
  'gateway/src/observability/metrics.js',
);
const { startWalCheckpointer } = await built<typeof import('../gateway/src/store/wal-checkpointer.js')>(
  'gateway/src/store/wal-checkpointer.js',
);
const { startLocalInfluxd } = await built<typeof import('../gateway/src/sinks/influx/local-influxd.js')>(
  'gateway/src/sinks/influx/local-influxd.js',
);

const RUNS = 7;
const READINGS = 20_000;
const DEVICES = 10;
const HERE = dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: { turn: { type: 'string', default: '40' }, store: { type: 'string', default: 'both' } },
});
/** Payloads judged in one commit: what one turn of the broker's event loop hands the lane (more at flat-out load). */
const TURN = Number(options.turn);
if (!Number.isInteger(TURN) || TURN < 1) throw new Error(`--turn ${options.turn}: a whole number of payloads, at least 1`);
const SIDES = { both: [true, false], on: [true], off: [false] }[options.store as string];
if (SIDES === undefined) throw new Error(`--store ${options.store}: both, on or off`);

const reports = dustCollectorReports(READINGS);
const ids = Array.from({ length: DEVICES }, (_, i) => `dc-${String(i + 1).padStart(2, '0')}`);
const outlet: LaneOutlet = { alarmChanges: () => undefined, readingStored: () => undefined };

const influxDir = mkdtempSync(join(tmpdir(), 'bench-lane-influxd-'));
const influxd = await startLocalInfluxd({ dataDir: influxDir });

/** One lane core on a fresh data dir, fed READINGS payloads in turns of TURN: CPU µs per reading. */
let runs = 0;
async function run(store: boolean): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-lane-'));
  let db: { close(): unknown } | null = null;
  let checkpointer: { ready: Promise<void>; stop(): Promise<void> } | null = null;
  try {
    const config = validateConfig(
      {
        dataDir,
        logLevel: 'warn',
        store: { enabled: store },
        influx: { mode: 'url', url: influxd.url, database: `lane${runs++}` },
        devices: ids.map((id) => ({ id, site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' })),
      },
      '(bench)',
    );
    const registry = createDeviceRegistry(config.devices);
    const log = createLogger('warn');
    const metrics = createGatewayMetrics();
    const built = await buildLaneCore({ config: laneConfigOf(config), influxUrl: influxd.url }, registry, outlet, metrics, log);
    const { core, sink } = built;
    db = built.store;
    // the gateway's checkpointer thread, as it runs beside the lane (its CPU is this process's too)
    if (built.store) {
      checkpointer = startWalCheckpointer({ file: built.store.name, metrics, log });
      await checkpointer.ready; // its start-up is not the lane's
    }
    core.start(Date.now());
    // device times 30 s apart, the last just now (a backlog replayed fast, as the ingest section's flood)
    const start = Date.now() - (READINGS / DEVICES) * 30_000;
    const items: LaneItem[] = reports.map((metrics, i) => ({
      device: registry.get(ids[i % DEVICES] as string) as NonNullable<ReturnType<typeof registry.get>>,
      payload: telemetryPayload(metrics, start + Math.floor(i / DEVICES) * 30_000, Math.floor(i / DEVICES)),
      receivedAt: 0,
    }));
    (globalThis as { gc?: () => void }).gc?.(); // the last run's garbage is not this one's
    const began = process.cpuUsage();
    let accepted = 0;
    for (let at = 0; at < items.length; at += TURN) {
      const now = Date.now();
      const turn = items.slice(at, at + TURN).map((item) => ({ ...item, receivedAt: now }));
      for (const verdict of core.judgeBatch(turn)) accepted += verdict.accepted;
      await nextTurn(); // the sink's writes go out between turns, as in the worker
    }
    await sink?.flush();
    const used = process.cpuUsage(began);
    if (accepted !== READINGS) throw new Error(`${accepted} of ${READINGS} readings accepted`);
    await sink?.close();
    return (used.user + used.system) / READINGS;
  } finally {
    await checkpointer?.stop();
    db?.close(); // SQLite's connection, before its directory goes
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const samples = { on: [] as number[], off: [] as number[] };
try {
  for (const store of [...SIDES, ...SIDES]) await run(store); // warm-up: the JIT's tiers settle
  for (let round = 0; round < RUNS; round += 1) {
    const order = round % 2 === 0 ? SIDES : [...SIDES].reverse();
    for (const store of order) samples[store ? 'on' : 'off'].push(await run(store));
  }
} finally {
  await influxd.stop();
  rmSync(influxDir, { recursive: true, force: true });
}

const result = {
  date: new Date().toISOString(),
  runs: RUNS,
  readings: READINGS,
  turn: TURN,
  storeOnUs: samples.on.length > 0 ? median(samples.on) : null,
  storeOffUs: samples.off.length > 0 ? median(samples.off) : null,
  samples,
};
const list = (values: number[]) => values.map((value) => value.toFixed(1)).join(' ');
console.log(`the lane's core in-process, CPU µs per reading (turns of ${TURN} payloads; medians of ${RUNS} runs, alternating)`);
console.log('| store | median | runs |');
console.log('|---|---|---|');
for (const [side, values] of Object.entries(samples))
  if (values.length > 0) console.log(`| ${side} | ${median(values).toFixed(2)} | ${list(values)} |`);
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', 'lane-core.json'), `${JSON.stringify(result, null, 2)}\n`);
