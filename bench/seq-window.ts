/**
 * Benchmark of the de-duplication window (issue 17; the ring of 5174a12): memory per device once its window is full
 * (4,096 held) and CPU per reading, the shipped window against the Map it replaced (kept here as it was), side by
 * side in one run. Devices send rising `seq` 5 s apart with a few ms of clock jitter. Medians of RUNS runs, the two
 * sides alternating; prints a table and writes bench/results/seq-window.json.
 *
 *   npx tsx bench/seq-window.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSeqWindow, SEQ_WINDOW, type SeqWindow } from '../gateway/src/ingest/seq-window.js';
import { mapSeqWindow } from '../test/helpers/map-seq-window.js';
import { median } from './lib/stats.js';

const RUNS = 5;
const DEVICES = 200;
/** Readings per device: the window is full after SEQ_WINDOW, so most of them push the oldest out. */
const READINGS = 6_000;
const HERE = dirname(fileURLToPath(import.meta.url));
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const T0 = Date.now() - READINGS * 5_000;
const ids = Array.from({ length: DEVICES }, (_, i) => `site-a/dc-${i}`);

/** One side: bytes per device held once every window is full, and ns per reading. */
function measure(make: () => SeqWindow): { kibPerDevice: number; nsPerReading: number } {
  gc();
  const before = process.memoryUsage();
  const window = make();
  let accepted = 0;
  const began = process.hrtime.bigint();
  for (let seq = 0; seq < READINGS; seq += 1) {
    for (let d = 0; d < DEVICES; d += 1) if (window.accept(ids[d] as string, seq, T0 + seq * 5_000 + ((seq * 7 + d) % 5))) accepted += 1;
  }
  const elapsed = Number(process.hrtime.bigint() - began);
  if (accepted !== READINGS * DEVICES) throw new Error(`accepted ${accepted} of ${READINGS * DEVICES}`);
  gc();
  const after = process.memoryUsage();
  // the window is still reachable here: what it holds is what grew
  const held = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
  if (window.accept(ids[0] as string, READINGS - 1, T0 + (READINGS - 1) * 5_000 + (((READINGS - 1) * 7) % 5)))
    throw new Error('a replay was new');
  return { kibPerDevice: held / DEVICES / 1024, nsPerReading: elapsed / (READINGS * DEVICES) };
}

const sides = { ring: () => createSeqWindow(), map: mapSeqWindow } as const;
const samples = { ring: [] as Array<ReturnType<typeof measure>>, map: [] as Array<ReturnType<typeof measure>> };
for (let run = 0; run < RUNS; run += 1) {
  for (const side of run % 2 === 0 ? (['ring', 'map'] as const) : (['map', 'ring'] as const)) samples[side].push(measure(sides[side]));
}
const row = (side: 'ring' | 'map') => ({
  kibPerDevice: median(samples[side].map((s) => s.kibPerDevice)),
  nsPerReading: median(samples[side].map((s) => s.nsPerReading)),
});
const result = {
  date: new Date().toISOString(),
  runs: RUNS,
  devices: DEVICES,
  readingsPerDevice: READINGS,
  ring: row('ring'),
  map: row('map'),
};
console.log(`the de-duplication window, ${DEVICES} devices × ${READINGS} readings (full at ${SEQ_WINDOW}); medians of ${RUNS} runs`);
console.log('| window | KiB per device, full | at 20,000 devices, GiB | ns per reading |');
console.log('|---|---|---|---|');
for (const side of ['ring', 'map'] as const) {
  const { kibPerDevice, nsPerReading } = result[side];
  const label = side === 'ring' ? 'ring (shipped)' : 'Map (before 5174a12)';
  console.log(`| ${label} | ${kibPerDevice.toFixed(1)} | ${((kibPerDevice * 20_000) / 2 ** 20).toFixed(2)} | ${nsPerReading.toFixed(0)} |`);
}
mkdirSync(join(HERE, 'results'), { recursive: true });
writeFileSync(join(HERE, 'results', 'seq-window.json'), `${JSON.stringify(result, null, 2)}\n`);
