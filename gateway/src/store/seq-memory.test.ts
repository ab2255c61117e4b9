import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSeqWindow, SEQ_WINDOW } from '../ingest/seq-window.js';
import { migrate } from './migrations.js';
import { openStore, STORE_FILE, type StoreDatabase } from './open-store.js';
import { createSqliteSeqMemory } from './seq-memory.js';
import { createWriteBuffer } from './write-buffer.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'seq-memory-'));

/** The lane's way of writing: accepts collected while judging, written in one commit. */
function laneWindow(db: StoreDatabase) {
  const later = createWriteBuffer();
  const window = createSeqWindow(createSqliteSeqMemory(db, later));
  return {
    /** Judges the readings in one commit; returns the answers. */
    commit(readings: ReadonlyArray<[device: string, seq: number, ts: number | null]>): boolean[] {
      const answers = later.collecting(() => readings.map(([device, seq, ts]) => window.accept(device, seq, ts)));
      db.transaction(() => later.apply())();
      return answers;
    },
  };
}

const rowsOf = (db: StoreDatabase, device: string): number =>
  db.prepare('SELECT count(*) FROM seq_seen WHERE device = ?').pluck().get(device) as number;

describe('the de-duplication window in the local store', () => {
  it('keeps one row per remembered seq, at most 4,096 per device however long it runs; a restart answers as the window that never stopped', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db);
    // 3 commits that wrap the ring of dc-01 (with numbers in a commit past the 32 rows of one statement), one of dc-02
    const sent: Array<[string, number, number | null]> = [];
    for (let batch = 0; batch < 3; batch += 1) {
      const readings = Array.from({ length: 2_000 }, (_, i): [string, number, number | null] => {
        const seq = batch * 2_000 + i;
        return ['dc-01', seq, seq % 7 === 0 ? null : 1_000 * seq];
      });
      expect(lane.commit(readings).every(Boolean)).toBe(true);
      sent.push(...readings);
    }
    expect(lane.commit([['dc-02', 5, 50]])).toEqual([true]);
    expect(rowsOf(db, 'dc-01')).toBe(SEQ_WINDOW);
    expect(rowsOf(db, 'dc-02')).toBe(1);
    db.close();

    const again = openStore({ dataDir: dir, synchronous: 'normal' });
    const restarted = laneWindow(again);
    // the last 4,096 are duplicates after the restart; the one before them was forgotten, as by a window that ran on
    const kept = sent.slice(-SEQ_WINDOW);
    expect(restarted.commit(kept).some(Boolean)).toBe(false);
    expect(restarted.commit([['dc-02', 5, 50]])).toEqual([false]);
    const forgotten = sent.at(-SEQ_WINDOW - 1) as [string, number, number | null];
    expect(restarted.commit([forgotten])).toEqual([true]);
    // and it goes on from where it was: the forgotten one pushed the oldest out, nothing else grew
    expect(rowsOf(again, 'dc-01')).toBe(SEQ_WINDOW);
    again.close();
    const third = laneWindow(openStore({ dataDir: dir, synchronous: 'normal' }));
    expect(third.commit([forgotten, kept[0] as [string, number, number | null]])).toEqual([false, true]);
  });

  it('a store of schema 10 keeps its window: seen_seq comes over in the order seen, and a replay after the upgrade is a duplicate', () => {
    const dir = fresh();
    const old = new Database(join(dir, STORE_FILE));
    migrate(old, 10);
    const put = old.prepare('INSERT OR REPLACE INTO seen_seq (device, seq, ts) VALUES (?, ?, ?)');
    for (let seq = 0; seq < 40; seq += 1) {
      put.run('dc-01', seq, 1_000 + seq);
      put.run('dc-02', seq, null);
    }
    put.run('dc-01', 3, 99_000); // dc-01 restarted its counter: seq 3 came again with a new time, the newest seen
    old.close();

    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'seen_seq'").pluck().get()).toBe(0);
    const lane = laneWindow(db);
    expect(
      lane.commit([
        ['dc-01', 3, 99_000],
        ['dc-01', 3, 1_003],
        ['dc-01', 39, 1_039],
        ['dc-02', 0, 5],
        ['dc-02', 40, null],
      ]),
    ).toEqual([
      false, // the replay of the newest
      true, // the old time of seq 3 was replaced by the new one
      false,
      false, // seen without a device time: compared by seq alone
      true,
    ]);
    // the order survived (seq 3 came over as the 40th, the newest) and goes on after it: seq 3 again, with its old time
    const newest = db.prepare("SELECT seq, ts, n FROM seq_seen WHERE device = 'dc-01' ORDER BY n DESC LIMIT 2").all();
    expect(newest).toEqual([
      { seq: 3, ts: 1_003, n: 40 },
      { seq: 39, ts: 1_039, n: 38 },
    ]);
    db.close();
  });

  it('a seq that came again with a new time keeps every other seq of the window across a restart', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db);
    const readings = Array.from({ length: SEQ_WINDOW }, (_, seq): [string, number, number | null] => ['a', seq, 1_000 + seq]);
    lane.commit(readings);
    expect(lane.commit([['a', SEQ_WINDOW - 1, 9_999]])).toEqual([true]); // the device restarted its counter
    db.close();
    const restarted = laneWindow(openStore({ dataDir: dir, synchronous: 'normal' }));
    // all 4,096 held as before: seq 0 with its time is still a duplicate, the newest time of seq 4,095 too
    expect(
      restarted.commit([
        ['a', 0, 1_000],
        ['a', SEQ_WINDOW - 1, 9_999],
        ['a', SEQ_WINDOW - 1, 1_000 + SEQ_WINDOW - 1],
      ]),
    ).toEqual([false, false, true]);
  });

  it('a commit that takes a seq, lets it go and takes it again (a backlog of more than 4,096) keeps what the window holds', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db);
    const sent: Array<[string, number, number | null]> = [];
    for (let seq = 0; seq < SEQ_WINDOW + 50; seq += 1) sent.push(['a', seq, 1_000 + seq]);
    sent.push(['a', 10, 5_000_000]); // seq 10 was let go of; new again, with a new time
    for (let seq = SEQ_WINDOW + 50; seq < SEQ_WINDOW + 60; seq += 1) sent.push(['a', seq, 1_000 + seq]);
    expect(lane.commit(sent).every(Boolean)).toBe(true);
    expect(rowsOf(db, 'a')).toBe(SEQ_WINDOW);
    db.close();
    const restarted = laneWindow(openStore({ dataDir: dir, synchronous: 'normal' }));
    // held: seq 10 (taken again) and 61 on; let go of: 0–60
    expect(
      restarted.commit([
        ['a', 10, 5_000_000],
        ['a', 61, 1_061],
        ['a', 60, 1_060],
      ]),
    ).toEqual([false, false, true]);
  });

  it('a store of an older gateway with more rows than the window for a device: the oldest are let go of at start', () => {
    const dir = fresh();
    const old = new Database(join(dir, STORE_FILE));
    migrate(old, 10);
    const put = old.prepare('INSERT INTO seen_seq (device, seq, ts) VALUES (?, ?, ?)');
    old.transaction(() => {
      for (let seq = 0; seq < SEQ_WINDOW + 5; seq += 1) put.run('dc-01', seq, seq);
    })();
    old.close();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db);
    expect(rowsOf(db, 'dc-01')).toBe(SEQ_WINDOW);
    expect(
      lane.commit([
        ['dc-01', 5, 5],
        ['dc-01', 4, 4],
      ]),
    ).toEqual([false, true]);
    db.close();
  });

  it('forgets the rows of a batch whose judging threw: the next commit does not write them', () => {
    const db = openStore({ dataDir: fresh(), synchronous: 'normal' });
    const later = createWriteBuffer();
    const window = createSeqWindow(createSqliteSeqMemory(db, later));
    expect(() =>
      later.collecting(() => {
        window.accept('dc-01', 1, 1_000);
        throw new Error('judging failed');
      }),
    ).toThrow('judging failed');
    later.clear();
    later.collecting(() => window.accept('dc-01', 2, 2_000));
    db.transaction(() => later.apply())();
    expect(db.prepare('SELECT seq FROM seq_seen').pluck().all()).toEqual([2]);
    db.close();
  });
});
