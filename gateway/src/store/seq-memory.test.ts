import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSeqWindow, SEQ_WINDOW, seqTimeOf } from '../ingest/seq-window.js';
import { migrate } from './migrations.js';
import { openStore, STORE_FILE, type StoreDatabase } from './open-store.js';
import { createSqliteSeqMemory, SEQ_FOLDING, type SeqFolding } from './seq-memory.js';
import { createWriteBuffer } from './write-buffer.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'seq-memory-'));

/** Every device's accepted seq folded into its rows in the commit that accepted them. */
const AT_ONCE: SeqFolding = { maxLagMs: 0, maxPending: 1, maxPerCommit: Number.MAX_SAFE_INTEGER };
/** Nothing ever folded: the window comes back from the log alone. */
const NEVER: SeqFolding = { maxLagMs: Number.POSITIVE_INFINITY, maxPending: Number.POSITIVE_INFINITY, maxPerCommit: 0 };

/** The lane's way of writing: accepts collected while judging, written in one commit. */
function laneWindow(db: StoreDatabase, folding: SeqFolding = AT_ONCE, now: () => number = Date.now) {
  const later = createWriteBuffer();
  const window = createSeqWindow(createSqliteSeqMemory(db, later, folding, now));
  return {
    /** Judges the readings in one commit; returns the answers. */
    commit(readings: ReadonlyArray<[device: string, seq: number, ts: number | null]>): boolean[] {
      const answers = later.collecting(() => readings.map(([device, seq, ts]) => window.accept(device, seq, ts)));
      db.transaction(() => later.apply())();
      return answers;
    },
  };
}

/** The window of a gateway started again on the store in `dir`. */
const reopened = (dir: string, folding: SeqFolding) => laneWindow(openStore({ dataDir: dir, synchronous: 'normal' }), folding);

const rowsOf = (db: StoreDatabase, device: string): number =>
  db.prepare('SELECT count(*) FROM seq_seen WHERE device = ?').pluck().get(device) as number;

/** Frames SQLite's write-ahead log holds (checkpoints off: every page every commit wrote). */
function walFrames(wal: string): number {
  const log = readFileSync(wal);
  const pageSize = log.readUInt32BE(8);
  return Math.floor((log.length - 32) / (24 + pageSize));
}

describe.each([
  ['folded into the rows at once', AT_ONCE],
  ['kept in the log alone', NEVER],
])('the de-duplication window in the local store, %s', (_, folding) => {
  /** The rows a device holds, when they are all folded (else the log holds them). */
  const expectRows = (db: StoreDatabase, device: string, count: number): void => {
    if (folding === AT_ONCE) expect(rowsOf(db, device)).toBe(count);
  };

  it('keeps one row per remembered seq, at most 4,096 per device however long it runs; a restart answers as the window that never stopped', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db, folding);
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
    expectRows(db, 'dc-01', SEQ_WINDOW);
    expectRows(db, 'dc-02', 1);
    db.close();

    const again = openStore({ dataDir: dir, synchronous: 'normal' });
    const restarted = laneWindow(again, folding);
    // the last 4,096 are duplicates after the restart; the one before them was forgotten, as by a window that ran on
    const kept = sent.slice(-SEQ_WINDOW);
    expect(restarted.commit(kept).some(Boolean)).toBe(false);
    expect(restarted.commit([['dc-02', 5, 50]])).toEqual([false]);
    const forgotten = sent.at(-SEQ_WINDOW - 1) as [string, number, number | null];
    expect(restarted.commit([forgotten])).toEqual([true]);
    // and it goes on from where it was: the forgotten one pushed the oldest out, nothing else grew
    expectRows(again, 'dc-01', SEQ_WINDOW);
    again.close();
    const third = reopened(dir, folding);
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
    const lane = laneWindow(db, folding);
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
    if (folding === NEVER) return void db.close();
    const newest = db.prepare("SELECT seq, ts, n FROM seq_seen WHERE device = 'dc-01' ORDER BY n DESC LIMIT 2").all();
    expect(newest).toEqual([
      { seq: 3, ts: 1_003, n: 40 },
      { seq: 39, ts: 1_039, n: 38 },
    ]);
    db.close();
  });

  it('a seq accepted without a device time stays without one across a restart: the same seq with a time is still a duplicate', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db, folding);
    expect(
      lane.commit([
        ['dc-01', 7, null],
        ['dc-01', 8, 8_000],
      ]),
    ).toEqual([true, true]);
    // the window that never stopped: no time to tell a restarted counter by, so the seq alone decides
    expect(lane.commit([['dc-01', 7, 7_000]])).toEqual([false]);
    db.close();
    const restarted = reopened(dir, folding);
    expect(
      restarted.commit([
        ['dc-01', 7, 7_000],
        ['dc-01', 8, 9_000],
      ]),
    ).toEqual([false, true]);
  });

  it("a clockless device's seq are remembered with their values' code across a restart: a redelivery is a duplicate, a reboot's new values are not", () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db, folding);
    const codeOf = (value: number) => seqTimeOf(null, { level: value });
    expect(lane.commit(Array.from({ length: 10 }, (_, seq) => ['dc-01', seq, codeOf(seq)] as [string, number, number]))).toEqual(
      Array(10).fill(true),
    );
    db.close();
    const restarted = reopened(dir, folding);
    expect(
      restarted.commit([
        ['dc-01', 4, codeOf(4)], // sent again: its PUBACK was lost
        ['dc-01', 5, codeOf(55)], // the device rebooted and counts again, measuring something else
      ]),
    ).toEqual([false, true]);
  });

  it('a seq that came again with a new time keeps every other seq of the window across a restart', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const lane = laneWindow(db, folding);
    const readings = Array.from({ length: SEQ_WINDOW }, (_, seq): [string, number, number | null] => ['a', seq, 1_000 + seq]);
    lane.commit(readings);
    expect(lane.commit([['a', SEQ_WINDOW - 1, 9_999]])).toEqual([true]); // the device restarted its counter
    db.close();
    const restarted = reopened(dir, folding);
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
    const lane = laneWindow(db, folding);
    const sent: Array<[string, number, number | null]> = [];
    for (let seq = 0; seq < SEQ_WINDOW + 50; seq += 1) sent.push(['a', seq, 1_000 + seq]);
    sent.push(['a', 10, 5_000_000]); // seq 10 was let go of; new again, with a new time
    for (let seq = SEQ_WINDOW + 50; seq < SEQ_WINDOW + 60; seq += 1) sent.push(['a', seq, 1_000 + seq]);
    expect(lane.commit(sent).every(Boolean)).toBe(true);
    expectRows(db, 'a', SEQ_WINDOW);
    db.close();
    const restarted = reopened(dir, folding);
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
    const lane = laneWindow(db, folding);
    expect(rowsOf(db, 'dc-01')).toBe(SEQ_WINDOW);
    expect(
      lane.commit([
        ['dc-01', 5, 5],
        ['dc-01', 4, 4],
      ]),
    ).toEqual([false, true]);
    db.close();
  });

  it("forgets what a batch whose judging threw accepted: after a restart its reading is new, the next commit's a duplicate", () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const later = createWriteBuffer();
    const window = createSeqWindow(createSqliteSeqMemory(db, later, folding));
    expect(() =>
      later.collecting(() => {
        window.accept('dc-01', 1, 1_000);
        throw new Error('judging failed');
      }),
    ).toThrow('judging failed');
    later.clear();
    later.collecting(() => window.accept('dc-01', 2, 2_000));
    db.transaction(() => later.apply())();
    if (folding === AT_ONCE) expect(db.prepare('SELECT seq FROM seq_seen').pluck().all()).toEqual([2]);
    db.close();
    const restarted = reopened(dir, folding);
    expect(
      restarted.commit([
        ['dc-01', 2, 2_000],
        ['dc-01', 1, 1_000],
      ]),
    ).toEqual([false, true]);
  });
});

describe('the de-duplication window across folds of its log', () => {
  it("a plant trickling: 100 devices reporting every 5 s write a page of a device's rows once a minute, not at every reading", () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    db.pragma('wal_autocheckpoint = 0');
    let clock = 1_000_000;
    const lane = laneWindow(db, SEQ_FOLDING, () => clock);
    const devices = Array.from({ length: 100 }, (_, i) => `site-a/dc-${i}`);
    const report = (seq: number): void => {
      clock += 5_000;
      lane.commit(devices.map((device): [string, number, number] => [device, seq, seq * 5_000]));
    };
    // an hour of reports first: every device has its rows
    for (let seq = 0; seq < 720; seq += 1) report(seq);
    expect(rowsOf(db, 'site-a/dc-7')).toBeGreaterThan(700);
    const wal = join(dir, `${STORE_FILE}-wal`);
    const before = walFrames(wal);
    // ten minutes more: 120 commits of 100 readings; a page per device per commit would be 12,000 (about 2,800 here:
    // the log's row and its deletes in every commit, a device's page once a minute)
    for (let seq = 720; seq < 840; seq += 1) report(seq);
    expect(walFrames(wal) - before).toBeLessThan(4_000);
    db.close();
  });

  it('deletes the log rows every device has folded: the log stays as long as the lag, however long it runs', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    let clock = 0;
    const folding: SeqFolding = { maxLagMs: 10_000, maxPending: 1_024, maxPerCommit: 64 };
    const lane = laneWindow(db, folding, () => clock);
    const logRows = db.prepare('SELECT count(*) FROM seq_log').pluck();
    for (let seq = 0; seq < 2_000; seq += 1) {
      clock += 100;
      lane.commit([
        ['a', seq, clock],
        ['b', seq, clock],
      ]);
    }
    // a commit every 100 ms: 10 s of log (100 rows), and at most a second more before the delete comes round
    expect(logRows.get()).toBeLessThanOrEqual(111);
    expect(rowsOf(db, 'a')).toBeGreaterThanOrEqual(2_000 - 111);
    db.close();
  });

  it('a gateway restarting more often than the lag still folds: its log keeps no more than the commits since the last start', () => {
    const dir = fresh();
    let clock = 0;
    const logRows = (db: StoreDatabase): number => db.prepare('SELECT count(*) FROM seq_log').pluck().get() as number;
    let seq = 0;
    for (let start = 0; start < 30; start += 1) {
      const db = openStore({ dataDir: dir, synchronous: 'normal' });
      const lane = laneWindow(db, SEQ_FOLDING, () => clock);
      // ten seconds between starts, a sixth of the lag: 20 commits of 5 devices
      for (let commit = 0; commit < 20; commit += 1) {
        clock += 500;
        seq += 1;
        lane.commit(['a', 'b', 'c', 'd', 'e'].map((device): [string, number, number] => [device, seq, clock]));
      }
      expect(logRows(db)).toBeLessThanOrEqual(21);
      db.close();
    }
    const lane = laneWindow(openStore({ dataDir: dir, synchronous: 'normal' }), SEQ_FOLDING, () => clock);
    expect(
      lane.commit([
        ['c', seq, clock],
        ['c', 1, 500],
        ['c', seq + 1, clock],
      ]),
    ).toEqual([false, false, true]);
  });

  it('answers as a window that never stopped, whatever its folds, commits and restarts (property)', () => {
    /** A stretch of what a device sends: a rising run, or a replay of what it sent (as sent or with a new time). */
    const stretch = fc.record({
      device: fc.constantFrom('a', 'b', 'c'),
      replay: fc.boolean(),
      length: fc.integer({ min: 1, max: 2_500 }),
      back: fc.integer({ min: 1, max: 6_000 }),
      untimed: fc.boolean(),
      newTime: fc.boolean(),
      perCommit: fc.integer({ min: 1, max: 700 }),
      restartAfter: fc.boolean(),
    });
    const foldings = fc.record({
      maxLagMs: fc.constantFrom(0, 1_000, 60_000, Number.POSITIVE_INFINITY),
      maxPending: fc.constantFrom(1, 50, 1_024, Number.POSITIVE_INFINITY),
      maxPerCommit: fc.constantFrom(0, 1, 64),
    });
    fc.assert(
      fc.property(fc.array(stretch, { minLength: 1, maxLength: 10 }), foldings, (stretches, folding) => {
        const dir = fresh();
        let clock = 0;
        let db = openStore({ dataDir: dir, synchronous: 'normal' });
        let lane = laneWindow(db, folding, () => clock);
        const reference = createSeqWindow();
        const sent: Record<string, Array<[number, number | null]>> = { a: [], b: [], c: [] };
        const next: Record<string, number> = { a: 0, b: 0, c: 0 };
        try {
          for (const part of stretches) {
            const history = sent[part.device] as Array<[number, number | null]>;
            const readings: Array<[string, number, number | null]> = [];
            if (part.replay) {
              for (const [seq, ts] of history.slice(-part.back, history.length - part.back + part.length))
                readings.push([part.device, seq, part.newTime && ts !== null ? ts + 1 : ts]);
            } else {
              for (let i = 0; i < part.length; i += 1) {
                const seq = next[part.device] as number;
                next[part.device] = seq + 1;
                readings.push([part.device, seq, part.untimed ? null : 1_000 * seq]);
              }
            }
            for (let at = 0; at < readings.length; at += part.perCommit) {
              clock += 700;
              const commit = readings.slice(at, at + part.perCommit);
              const answers = lane.commit(commit);
              commit.forEach(([device, seq, ts], i) => {
                const expected = reference.accept(device, seq, ts);
                if (answers[i] !== expected) throw new Error(`${device} seq ${seq} ts ${ts}: ${answers[i]}, never stopped: ${expected}`);
                if (expected) history.push([seq, ts]);
              });
            }
            if (part.restartAfter) {
              db.close();
              db = openStore({ dataDir: dir, synchronous: 'normal' });
              lane = laneWindow(db, folding, () => clock);
            }
          }
        } finally {
          db.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
