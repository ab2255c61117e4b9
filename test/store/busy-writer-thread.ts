/**
 * A lane that is always behind: commits to the store back to back (each a few milliseconds of inserts) for
 * `durationMs`, each one after the broker side's writes when `gated`. Posts `started` after its first
 * commit and `done` with the number of commits at the end.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../../gateway/src/store/open-store.js';
import { laneCommit, type WriterGate } from '../../gateway/src/store/writer-gate.js';

const { dataDir, gate, gated, durationMs } = workerData as { dataDir: string; gate: WriterGate; gated: boolean; durationMs: number };
const db = openStore({ dataDir, synchronous: 'normal' });
const insert = db.prepare('INSERT INTO busy_lane (n) VALUES (?)');
const commit = db.transaction(() => {
  for (let i = 0; i < 2_000; i += 1) insert.run(i);
});
const until = Date.now() + durationMs;
let commits = 0;
while (Date.now() < until) {
  if (gated) laneCommit(gate, commit);
  else commit();
  commits += 1;
  if (commits === 1) parentPort?.postMessage({ type: 'started' });
}
db.close();
parentPort?.postMessage({ type: 'done', commits });
