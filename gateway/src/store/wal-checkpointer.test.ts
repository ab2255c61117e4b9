import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { openStore } from './open-store.js';
import { startWalCheckpointer } from './wal-checkpointer.js';

const PAGE = 4_096;

function setup() {
  const db = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'wal-checkpointer-')), synchronous: 'normal' });
  // the writer's own automatic checkpoint off: what keeps the log short here is the checkpointer alone
  db.pragma('wal_autocheckpoint = 0');
  const metrics = createGatewayMetrics({ processMetrics: false });
  const logs: Array<{ msg: string; reason?: string; failures?: number }> = [];
  const log = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line)) });
  const logBytes = (): number => statSync(`${db.name}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  return { db, metrics, logs, log, logBytes };
}

/**
 * `bursts` of 10 commits of 10 rows of about a page each, the commits a millisecond apart and the bursts `pauseMs`
 * apart (a plant's load comes in turns): the largest the log grew, in bytes.
 */
async function commitPages(db: ReturnType<typeof setup>['db'], logBytes: () => number, bursts: number, pauseMs: number): Promise<number> {
  db.exec('CREATE TABLE IF NOT EXISTS filler (b BLOB)');
  const insert = db.prepare('INSERT INTO filler VALUES (?)');
  const rows = db.transaction(() => {
    for (let n = 0; n < 10; n += 1) insert.run(Buffer.alloc(3_000, n));
  });
  let largest = 0;
  for (let burst = 0; burst < bursts; burst += 1) {
    for (let n = 0; n < 10; n += 1) {
      rows();
      largest = Math.max(largest, logBytes());
      await sleep(1);
    }
    await sleep(pauseMs);
  }
  return largest;
}

describe('the store checkpointer', () => {
  it('copies the log into the file while a writer commits: the log stays short and the file holds every row', async () => {
    const { db, metrics, log, logBytes } = setup();
    const checkpointer = startWalCheckpointer({ file: db.name, intervalMs: 20, metrics, log });
    await checkpointer.ready;
    // 300 commits write about 3,300 pages; the log starts over at a writer's commit once every frame is in the file
    const largest = await commitPages(db, logBytes, 30, 60);
    await checkpointer.stop();
    // about 400 pages here (the log starts over every few bursts), against 3,300 without it (next test)
    expect(largest).toBeLessThan(1_500 * PAGE);
    const checkpoints = (await metrics.storeCheckpoint.get()).values.find((v) => v.metricName === 'gateway_store_checkpoint_seconds_count');
    expect(checkpoints?.value).toBeGreaterThan(0);
    expect((await metrics.storeLogFrames.get()).values[0]?.value).toBeGreaterThan(0);
    expect(db.prepare('SELECT count(*) FROM filler').pluck().get()).toBe(3_000);
    db.close();
  });

  it('without it the same commits grow the log to all they wrote', async () => {
    const { db, logBytes } = setup();
    expect(await commitPages(db, logBytes, 30, 60)).toBeGreaterThan(3_000 * PAGE);
    db.close();
  });

  it('stops with its connection closed: the last connection to close removes the log', async () => {
    const { db, metrics, log, logBytes } = setup();
    const checkpointer = startWalCheckpointer({ file: db.name, intervalMs: 20, metrics, log });
    await checkpointer.ready;
    await commitPages(db, logBytes, 2, 60);
    await checkpointer.stop();
    db.close();
    expect(existsSync(`${db.name}-wal`)).toBe(false);
  });

  it('a store it cannot open is said in the log, and stopping it still returns', async () => {
    const { db, metrics, log, logs } = setup();
    const checkpointer = startWalCheckpointer({ file: join(tmpdir(), 'no-such-dir', 'gateway.db'), intervalMs: 20, metrics, log });
    for (let n = 0; n < 200 && logs.length === 0; n += 1) await sleep(10);
    await checkpointer.stop();
    expect(logs).toMatchObject([
      { msg: 'store checkpoint failed', failures: 1, reason: expect.stringMatching(/unable to open|directory does not exist/) },
    ]);
    db.close();
  });
});
