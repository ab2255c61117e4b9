import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { spawnModuleWorker } from '../../gateway/src/lane/spawn-worker.js';
import { openStore } from '../../gateway/src/store/open-store.js';
import { createWriterGate, writeFirst } from '../../gateway/src/store/writer-gate.js';

const BUSY_MS = 4_000;

/**
 * The broker side's writes (here: 30 one-row commits, 80 ms apart, each giving up after 300 ms of SQLite's busy
 * wait) while a lane thread commits back to back. Returns how many failed with SQLITE_BUSY, and the lane's commits.
 */
async function brokerWritesBesideBusyLane(gated: boolean): Promise<{ busy: number; written: number; laneCommits: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'writer-gate-'));
  const gate = createWriterGate();
  const opened = openStore({ dataDir, synchronous: 'normal' });
  opened.exec('CREATE TABLE busy_lane (n INTEGER); CREATE TABLE broker_side (n INTEGER)');
  const db = gated ? writeFirst(opened, gate) : opened;
  db.pragma('busy_timeout = 300');
  const insert = db.prepare('INSERT INTO broker_side (n) VALUES (?)');
  const lane: Worker = spawnModuleWorker(new URL('./busy-writer-thread.ts', import.meta.url), {
    dataDir,
    gate,
    gated,
    durationMs: BUSY_MS,
  });
  type LaneMessage = { type: string; commits?: number };
  const messages: LaneMessage[] = [];
  const next = (type: string) =>
    new Promise<LaneMessage>((resolve, reject) => {
      const seen = messages.find((m) => m.type === type);
      if (seen) return resolve(seen);
      lane.on('message', (m: LaneMessage) => m.type === type && resolve(m));
      lane.once('error', reject);
    });
  lane.on('message', (m: LaneMessage) => messages.push(m));
  await next('started');
  let busy = 0;
  for (let i = 0; i < 30; i += 1) {
    try {
      // a statement on its own and a transaction, the two ways the broker side's stores write
      if (i % 2 === 0) insert.run(i);
      else db.transaction(() => insert.run(i))();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      busy += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 80));
  }
  const { commits } = await next('done');
  const written = db.prepare('SELECT count(*) FROM broker_side').pluck().get() as number;
  db.close();
  await lane.terminate();
  return { busy, written, laneCommits: commits ?? 0 };
}

describe('the store shared by the broker side and a lane thread that is always behind', () => {
  it('without the gate the busy lane takes the lock again and again: the broker side fails with SQLITE_BUSY', async () => {
    // the case the gate exists for: were this to pass, the test below would prove nothing
    const { busy, laneCommits } = await brokerWritesBesideBusyLane(false);
    expect(laneCommits).toBeGreaterThan(10);
    expect(busy).toBeGreaterThan(0);
  });

  it('with the gate every write of the broker side gets through, and the lane goes on between them', async () => {
    const { busy, written, laneCommits } = await brokerWritesBesideBusyLane(true);
    expect(busy).toBe(0);
    expect(written).toBe(30);
    expect(laneCommits).toBeGreaterThan(10);
  });
});
