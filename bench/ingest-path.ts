/**
 * Benchmark of judging a reading in-process (issue 17, "compiled validators"): the payload's shape and each metric
 * value checked by zod against the plain checks that stand in for it on well-formed input, side by side in one run,
 * and the whole shipped path (decode, shape, profile, units, seq window) for scale. Realistic dust-collector
 * payloads from the simulator: single readings, and backlogs of 120. Medians of RUNS runs, alternating the two
 * sides; prints a table and writes bench/results/ingest-path.json.
 *
 *   npx tsx bench/ingest-path.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../gateway/src/config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../gateway/src/devices/device-registry.js';
import { decodeJson } from '../gateway/src/ingest/decode.js';
import { DEFAULT_TIMESTAMP_WINDOW, ingestTelemetry } from '../gateway/src/ingest/ingest-telemetry.js';
import { plainTelemetryPayload } from '../gateway/src/ingest/plain-payload.js';
import { createSeqWindow } from '../gateway/src/ingest/seq-window.js';
import { parseTelemetryPayload } from '../gateway/src/ingest/telemetry-schema.js';
import { cachedValueCheckOf, cachedValueSchemaOf } from '../gateway/src/ingest/value-schema-cache.js';
import { PROFILES, type Profile } from '../profiles/index.js';
import { dustCollectorReports } from './lib/payloads.js';
import { median } from './lib/stats.js';

const RUNS = 7;
const READINGS = 20_000;
const BACKLOG = 120;
const HERE = dirname(fileURLToPath(import.meta.url));

const profile = PROFILES.get('dust-collector') as Profile;
const config = validateConfig(
  {
    influx: { mode: 'off' },
    devices: [{ id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' }],
  },
  '(bench)',
);
const device = createDeviceRegistry(config.devices).get('dc-01') as RegisteredDevice;
const start = Date.now() - READINGS * 1_000;
const reports = dustCollectorReports(READINGS);
const singles = reports.map((metrics, seq) => Buffer.from(JSON.stringify({ ts: start + seq * 1_000, seq, metrics })));
const backlogs: Buffer[] = [];
for (let first = 0; first + BACKLOG <= READINGS; first += BACKLOG)
  backlogs.push(
    Buffer.from(
      JSON.stringify({
        readings: reports.slice(first, first + BACKLOG).map((metrics, i) => ({ ts: start + (first + i) * 1_000, seq: first + i, metrics })),
      }),
    ),
  );
const decodedSingles = singles.map((payload) => (decodeJson(payload) as { value: unknown }).value);
const decodedBacklogs = backlogs.map((payload) => (decodeJson(payload) as { value: unknown }).value);
const values = reports.flatMap((metrics) => Object.entries(metrics)).map(([name, value]) => ({ spec: profile.metrics[name], value }));
if (values.some((entry) => entry.spec === undefined)) throw new Error('a simulated metric is not in the profile');

/** µs per item of `work` over `count` items (one pass after a warm-up pass). */
function timed(count: number, work: () => number): number {
  work();
  const began = process.hrtime.bigint();
  const checksum = work();
  const elapsed = Number(process.hrtime.bigint() - began) / 1_000;
  if (checksum < 0) throw new Error('unreachable: keeps the work from being optimised away');
  return elapsed / count;
}

const pairs = {
  'shape, single readings': {
    count: decodedSingles.length,
    zod: () => decodedSingles.reduce<number>((n, value) => n + (parseTelemetryPayload(value).success ? 1 : 0), 0),
    plain: () => decodedSingles.reduce<number>((n, value) => n + (plainTelemetryPayload(value) ? 1 : 0), 0),
  },
  [`shape, backlogs of ${BACKLOG} (per reading)`]: {
    count: decodedBacklogs.length * BACKLOG,
    zod: () => decodedBacklogs.reduce<number>((n, value) => n + (parseTelemetryPayload(value).success ? 1 : 0), 0),
    plain: () => decodedBacklogs.reduce<number>((n, value) => n + (plainTelemetryPayload(value) ? 1 : 0), 0),
  },
  'metric values (per reading of 9)': {
    count: READINGS,
    zod: () => values.reduce<number>((n, { spec, value }) => n + (cachedValueSchemaOf(spec as never).safeParse(value).success ? 1 : 0), 0),
    plain: () => values.reduce<number>((n, { spec, value }) => n + (cachedValueCheckOf(spec as never)(value) ? 1 : 0), 0),
  },
};

const whole = (payloads: Buffer[]) => () => {
  const deps = { maxPayloadBytes: 1 << 20, seqWindow: createSeqWindow(), timestamps: DEFAULT_TIMESTAMP_WINDOW };
  const now = Date.now();
  return payloads.reduce<number>((n, payload) => n + ingestTelemetry(deps, device, profile, payload, now).accepted.length, 0);
};

const samples = new Map<string, { zod: number[]; plain: number[] }>();
const shipped = { single: [] as number[], backlog: [] as number[] };
for (let run = 0; run < RUNS; run += 1) {
  for (const [name, pair] of Object.entries(pairs)) {
    const row = samples.get(name) ?? { zod: [], plain: [] };
    const order = run % 2 === 0 ? (['zod', 'plain'] as const) : (['plain', 'zod'] as const);
    for (const side of order) row[side].push(timed(pair.count, pair[side]));
    samples.set(name, row);
  }
  shipped.single.push(timed(READINGS, whole(singles)));
  shipped.backlog.push(timed(backlogs.length * BACKLOG, whole(backlogs)));
}

const rows = [...samples].map(([name, row]) => ({
  measure: name,
  zodUs: median(row.zod),
  plainUs: median(row.plain),
  ratio: median(row.zod) / median(row.plain),
}));
const result = {
  date: new Date().toISOString(),
  runs: RUNS,
  rows,
  shippedUsPerReading: { single: median(shipped.single), backlog: median(shipped.backlog) },
};
console.log(`judging a reading in-process, µs (medians of ${RUNS} runs, the two sides alternating)`);
console.log('| measure | zod | plain check | zod / plain |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.measure} | ${row.zodUs.toFixed(2)} | ${row.plainUs.toFixed(2)} | ×${row.ratio.toFixed(1)} |`);
console.log(
  `| whole shipped path (decode → seq window), single / backlog | ${result.shippedUsPerReading.single.toFixed(2)} / ${result.shippedUsPerReading.backlog.toFixed(2)} | | |`,
);
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', 'ingest-path.json'), `${JSON.stringify(result, null, 2)}\n`);
