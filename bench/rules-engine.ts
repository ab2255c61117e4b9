/**
 * Benchmark of the rule engine alone (rules/): evaluation throughput with a realistic rule set, state
 * memory per tracked metric, and tick cost with 100k silence timers. Prints medians of RUNS runs and
 * writes bench/results/rules-engine.json.
 *
 *   npx tsx bench/rules-engine.ts          (re-runs itself under node --expose-gc for the memory figures)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuleEngine, type DeviceContext, parseRuleFile, type Reading, type RuleSet, ruleSetOf } from '../rules/src/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  const self = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const collect = gc as () => void;

const RUNS = 3;
const HERE = dirname(fileURLToPath(import.meta.url));

/** The dust-collector defaults plus one of each stateful kind a real deployment adds. */
const RULES = `
profile: dust-collector
rules:
  - { id: hopper_temp_high, kind: threshold, metric: hopper_temp, source: s, levels: { yellow: { raise: 60, clear: 58 }, orange: { raise: 70, clear: 68 }, red: { raise: 80, clear: 78 } } }
  - { id: diff_pressure_high, kind: threshold, metric: diff_pressure, onDelay: 10m, offDelay: 1m, source: s, levels: { yellow: { raise: 1500, clear: 1450 }, orange: { raise: 1800, clear: 1750 } } }
  - { id: inlet_temp_high, kind: threshold, metric: inlet_temp, source: s, levels: { orange: { raise: 70, clear: 67 } } }
  - { id: outlet_temp_high, kind: threshold, metric: outlet_temp, source: s, levels: { orange: { raise: 70, clear: 67 } } }
  - { id: bag_rupture, kind: threshold, metric: diff_pressure, direction: below, when: fan_running, onDelay: 1m, source: s, levels: { orange: { raise: 250, clear: 300 } } }
  - { id: hopper_heating, kind: rate, metric: hopper_temp, direction: rise, window: 2m, per: 1m, source: s, levels: { orange: { raise: 5, clear: 3 } } }
  - { id: dp_avg, kind: window, metric: diff_pressure, aggregate: avg, window: 15m, buckets: 15, source: s, levels: { yellow: { raise: 1600, clear: 1550 } } }
  - { id: dp_stuck, kind: stuck, metric: diff_pressure, window: 30m, when: fan_running, source: s }
  - { id: sensor_fault, kind: range, source: s }
  - { id: fan_off, kind: expression, condition: "process_running and not fan_running", severity: orange, onDelay: 30s, source: s }
  - { id: silent, kind: silence, ladder: [{ intervals: 3, severity: yellow }, { after: 15m, severity: orange }, { after: 24h, severity: red }], source: s }
`;
/** (device, metric) pairs with rule state: hopper_temp, diff_pressure, inlet_temp, outlet_temp, fan_running, process_running. */
const TRACKED_METRICS_PER_DEVICE = 6;
const RANGES: Record<string, { min: number; max: number }> = {
  hopper_temp: { min: -40, max: 400 },
  inlet_temp: { min: -40, max: 400 },
  outlet_temp: { min: -40, max: 400 },
  diff_pressure: { min: 0, max: 6000 },
};

function ruleSet(text: string): RuleSet {
  const parsed = parseRuleFile(text, 'bench.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return ruleSetOf([parsed.file]);
}

const newEngine = (rules: RuleSet) =>
  createRuleEngine({ rules, unitOf: () => null, rangeOf: (_p, m) => RANGES[m] ?? null, reportingIntervalOf: () => 30_000 });

const contexts = (n: number): DeviceContext[] =>
  Array.from({ length: n }, (_, i) => ({ site: `site-${i % 50}`, device: `dc-${i}`, profile: 'dust-collector', attributes: {} }));

/**
 * Readings with noise across the thresholds (hopper 40–65 °C against a 60 °C raise, inlet 30–75 °C against 70 °C, the
 * fan off 2 % of the time): about 1.3 verdict changes a reading, so what they measure is mostly transitions and their
 * messages. `steady`: a plant in normal operation, every value inside its band (no verdict moves).
 */
function readings(devices: DeviceContext[], perDevice: number, first = 0, steady = false): Reading[] {
  const out: Reading[] = [];
  // how far each value wanders above its floor, and how often the fan is off
  const spread = steady
    ? { hopper: 10, diffPressure: 100, inlet: 20, fanOff: 0 }
    : { hopper: 25, diffPressure: 600, inlet: 45, fanOff: 0.02 };
  let seed = 7 + first;
  const rnd = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let k = first; k < first + perDevice; k += 1) {
    const ts = 1_700_000_000_000 + k * 30_000;
    for (const d of devices) {
      out.push({
        site: d.site,
        device: d.device,
        profile: d.profile,
        ts,
        metrics: {
          hopper_temp: 40 + rnd() * spread.hopper,
          diff_pressure: 1000 + ((k * 50) % 300) + rnd() * spread.diffPressure,
          inlet_temp: 30 + rnd() * spread.inlet,
          outlet_temp: 30 + rnd() * 5,
          fan_running: rnd() > spread.fanOff,
          process_running: true,
        },
      });
    }
  }
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

function throughput(steady = false): {
  readingsPerS: number;
  metricEvaluationsPerS: number;
  ruleEvaluationsPerS: number;
  changesPerReading: number;
} {
  const rules = ruleSet(RULES);
  const devices = contexts(2_000);
  const batch = readings(devices, 40, 0, steady);
  const engine = newEngine(rules);
  const byKey = new Map(devices.map((d) => [d.device, d]));
  for (const r of batch.slice(0, devices.length * 5)) engine.onReading(r, byKey.get(r.device) as DeviceContext);
  const timed = batch.slice(devices.length * 5);
  const start = process.hrtime.bigint();
  let metrics = 0;
  let changes = 0;
  for (const r of timed) {
    changes += engine.onReading(r, byKey.get(r.device) as DeviceContext).changes.length;
    metrics += 6;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rulesPerDevice = rules.get('dust-collector')?.length ?? 0;
  return {
    readingsPerS: timed.length / seconds,
    metricEvaluationsPerS: metrics / seconds,
    ruleEvaluationsPerS: (timed.length * rulesPerDevice) / seconds,
    changesPerReading: changes / timed.length,
  };
}

function memory(): { bytesPerTrackedMetric: number; bytesPerDevice: number } {
  const rules = ruleSet(RULES);
  const devices = contexts(10_000);
  collect();
  collect();
  const before = process.memoryUsage().heapUsed;
  const engine = newEngine(rules);
  // Readings are made one round at a time so that only the engine's state is alive at the end.
  for (let k = 0; k < 40; k += 1) {
    for (const r of readings(devices, 1, k)) engine.onReading(r, devices[Number(r.device.slice(3))] as DeviceContext);
  }
  collect();
  collect();
  const after = process.memoryUsage().heapUsed;
  if (engine.verdicts().length === 0) throw new Error('engine is empty');
  const perDevice = (after - before) / devices.length;
  return { bytesPerTrackedMetric: perDevice / TRACKED_METRICS_PER_DEVICE, bytesPerDevice: perDevice };
}

function tickCost(): Array<{ timers: number; due: number; msPerTick: number; usPerDueTimer: number | null }> {
  const rules = ruleSet(`
profile: meter
rules:
  - { id: silent, kind: silence, ladder: [{ after: 15m, severity: yellow }], source: s }
`);
  const n = 100_000;
  const engine = createRuleEngine({ rules, unitOf: () => null });
  // Arm 100k timers spread over 15 minutes; then tick windows that make 0, 100, 1 000 and 10 000 due.
  const spread = 15 * 60_000;
  for (let i = 0; i < n; i += 1) {
    engine.registerDevice({ site: 's', device: `m-${i}`, profile: 'meter', attributes: {} }, Math.floor((i * spread) / n));
  }
  const out: Array<{ timers: number; due: number; msPerTick: number; usPerDueTimer: number | null }> = [];
  let now = 15 * 60_000 - 1;
  engine.tick(now);
  for (const due of [0, 100, 1_000, 10_000]) {
    const step = Math.round((due * spread) / n);
    const start = process.hrtime.bigint();
    const fired = engine.tick(now + step);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    now += step;
    out.push({ timers: n, due: fired.length, msPerTick: ms, usPerDueTimer: fired.length > 0 ? (ms * 1000) / fired.length : null });
  }
  return out;
}

const runs = {
  throughput: [] as ReturnType<typeof throughput>[],
  steady: [] as ReturnType<typeof throughput>[],
  memory: [] as ReturnType<typeof memory>[],
  tick: [] as ReturnType<typeof tickCost>[],
};
for (let i = 0; i < RUNS; i += 1) {
  runs.throughput.push(throughput());
  runs.steady.push(throughput(true));
  runs.memory.push(memory());
  runs.tick.push(tickCost());
}

const result = {
  node: process.version,
  runs: RUNS,
  ruleSet: 'dust-collector defaults + rate, window avg, stuck, range, expression, silence (11 rules per device, 6 metrics per reading)',
  throughput: {
    metricEvaluationsPerS: median(runs.throughput.map((r) => r.metricEvaluationsPerS)),
    ruleEvaluationsPerS: median(runs.throughput.map((r) => r.ruleEvaluationsPerS)),
    readingsPerS: median(runs.throughput.map((r) => r.readingsPerS)),
    changesPerReading: median(runs.throughput.map((r) => r.changesPerReading)),
    goalMetricEvaluationsPerS: 500_000,
  },
  /** The same rules and devices, readings of a plant in normal operation (no verdict moves). */
  steady: {
    metricEvaluationsPerS: median(runs.steady.map((r) => r.metricEvaluationsPerS)),
    readingsPerS: median(runs.steady.map((r) => r.readingsPerS)),
    changesPerReading: median(runs.steady.map((r) => r.changesPerReading)),
  },
  memory: {
    bytesPerTrackedMetric: median(runs.memory.map((r) => r.bytesPerTrackedMetric)),
    bytesPerDevice: median(runs.memory.map((r) => r.bytesPerDevice)),
    goalBytesPerTrackedMetric: 2048,
  },
  tick: (runs.tick[0] ?? []).map((row, i) => ({
    timers: row.timers,
    due: row.due,
    msPerTick: median(runs.tick.map((r) => r[i]?.msPerTick ?? 0)),
    usPerDueTimer: row.usPerDueTimer === null ? null : median(runs.tick.map((r) => r[i]?.usPerDueTimer ?? 0)),
  })),
};

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`rule engine benchmark (median of ${RUNS} runs, ${process.version})`);
console.log(`  ${result.ruleSet}`);
console.table({
  'metric evaluations/s': { value: fmt(result.throughput.metricEvaluationsPerS), goal: '≥ 500,000' },
  'rule evaluations/s': { value: fmt(result.throughput.ruleEvaluationsPerS), goal: '' },
  'readings/s': { value: fmt(result.throughput.readingsPerS), goal: '' },
  'verdict changes per reading': { value: result.throughput.changesPerReading.toFixed(2), goal: '' },
  'steady plant: metric evaluations/s': { value: fmt(result.steady.metricEvaluationsPerS), goal: '' },
  'steady plant: readings/s': { value: fmt(result.steady.readingsPerS), goal: '' },
  'steady plant: verdict changes per reading': { value: result.steady.changesPerReading.toFixed(3), goal: '' },
  'bytes per tracked metric': { value: fmt(result.memory.bytesPerTrackedMetric), goal: '≤ 2,048' },
  'bytes per device (11 rules)': { value: fmt(result.memory.bytesPerDevice), goal: '' },
});
console.table(
  result.tick.map((r) => ({
    timers: fmt(r.timers),
    due: fmt(r.due),
    'ms/tick': r.msPerTick.toFixed(3),
    'µs/due timer': r.usPerDueTimer?.toFixed(2) ?? '—',
  })),
);
const outFile = join(HERE, 'results', 'rules-engine.json');
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written ${outFile}`);
