import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { spawnModuleWorker } from '../../gateway/src/lane/spawn-worker.js';
import { openStore } from '../../gateway/src/store/open-store.js';
import { createWriterGate, laneGone, writeFirst, writingFirst } from '../../gateway/src/store/writer-gate.js';

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

  it('counts every write of the broker side on the gate: statements, INSERT … RETURNING, and each kind of transaction', () => {
    const gate = createWriterGate();
    const opened = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'writer-gate-')), synchronous: 'normal' });
    // what the gate's count of waiting broker-side writes is while SQLite runs the statement
    opened.function('wanted', () => Atomics.load(gate, 0));
    opened.exec('CREATE TABLE seen (n INTEGER)');
    const db = writeFirst(opened, gate);
    expect(db.prepare('INSERT INTO seen (n) VALUES (wanted())').run().changes).toBe(1);
    expect(db.prepare('INSERT INTO seen (n) VALUES (wanted()) RETURNING n').get()).toEqual({ n: 1 });
    expect(db.prepare('INSERT INTO seen (n) VALUES (wanted()) RETURNING n').all()).toEqual([{ n: 1 }]);
    const inside = db.prepare('INSERT INTO seen (n) VALUES (wanted()) RETURNING n').pluck();
    const tx = db.transaction(() => inside.get());
    expect([tx(), tx.deferred(), tx.immediate(), tx.exclusive()]).toEqual([1, 1, 1, 1]);
    // a read is not a write: not counted
    expect(db.prepare('SELECT wanted()').pluck().get()).toBe(0);
    expect(Atomics.load(gate, 0)).toBe(0);
    db.close();
  });

  it('the broker side does not wait for a lane thread that is gone, even one that died inside a commit', () => {
    const gate = createWriterGate();
    Atomics.store(gate, 1, 1); // the lane was writing when it died
    laneGone(gate);
    const started = Date.now();
    expect(writingFirst(gate, () => 'written')).toBe('written');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
