import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../store/migrations.js';
import { openStore, STORE_FILE } from '../../store/open-store.js';
import { createSpoolQueue } from '../../store/spool-queue.js';
import { createWriteBuffer } from '../../store/write-buffer.js';
import { lineBody } from './line-body.js';
import { createMemoryPointQueue, type PointBatch, type PointKind, type PointQueue } from './point-queue.js';

const freshDir = (): string => mkdtempSync(join(tmpdir(), 'point-queue-'));
const spoolIn = (dir: string, maxPoints: number, now: () => number = Date.now) =>
  createSpoolQueue(openStore({ dataDir: dir, synchronous: 'normal' }), { maxPoints, maxAgeMs: 86_400_000 }, now);

/**
 * The spool as the telemetry lane uses it: each push made while the lane judges (collected in its write buffer)
 * and written in its commit, with any trim the push called for.
 */
function spoolInLaneCommits(maxPoints: number): PointQueue {
  const db = openStore({ dataDir: freshDir(), synchronous: 'normal' });
  const later = createWriteBuffer();
  const queue = createSpoolQueue(db, { maxPoints, maxAgeMs: 86_400_000 }, Date.now, later);
  const commit = db.transaction(() => later.apply());
  return Object.assign(Object.create(queue) as PointQueue, {
    push(kind: PointKind, line: string) {
      later.collecting(() => queue.push(kind, line));
      commit();
    },
  });
}

/**
 * The lane at load: its pushes collected and committed three at a time (then a row holds several points, at most
 * two: half the `batchSize` of 4), and whatever is collected committed before the sink takes, is done or releases.
 */
function spoolInLaneCommitsOfThree(maxPoints: number): PointQueue {
  const db = openStore({ dataDir: freshDir(), synchronous: 'normal' });
  const later = createWriteBuffer();
  const queue = createSpoolQueue(db, { maxPoints, maxAgeMs: 86_400_000, batchSize: 4 }, Date.now, later);
  const commit = db.transaction(() => later.apply());
  let collected = 0;
  const committed = <T>(then: () => T): T => {
    if (collected > 0) commit();
    collected = 0;
    return then();
  };
  return Object.assign(Object.create(queue) as PointQueue, {
    push(kind: PointKind, line: string) {
      later.collecting(() => queue.push(kind, line));
      collected += 1;
      if (collected === 3) committed(() => undefined);
    },
    take: (max: number) => committed(() => queue.take(max)),
    done: (batch: PointBatch) => committed(() => queue.done(batch)),
    release: (batches: readonly PointBatch[]) => committed(() => queue.release(batches)),
  });
}

/** One contract for every PointQueue adapter (the in-memory queue and the durable spool), one point per commit. */
const ADAPTERS: Array<[string, (maxPoints: number) => PointQueue]> = [
  ['memory', (maxPoints) => createMemoryPointQueue(maxPoints)],
  ['spool', (maxPoints) => spoolIn(freshDir(), maxPoints)],
  ['spool written in the lane commits', spoolInLaneCommits],
];

describe.each(ADAPTERS)('PointQueue contract — %s', (_name, make) => {
  it('hands out alarm events before telemetry, each oldest first, and forgets what was done', () => {
    const queue = make(100);
    for (const line of ['t1', 't2']) queue.push('telemetry', line);
    queue.push('alarm', 'a1');
    queue.push('telemetry', 't3');
    queue.push('alarm', 'a2');
    expect(queue.waiting).toBe(5);
    const first = queue.take(3);
    expect(first?.lines).toEqual(['a1', 'a2', 't1']);
    expect(queue.waiting).toBe(2);
    queue.done(first as NonNullable<typeof first>);
    expect(queue.take(10)?.lines).toEqual(['t2', 't3']);
    expect(queue.take(10)).toBeNull();
  });

  it('takes failed batches again, oldest first and in their old order, before anything newer', () => {
    const queue = make(100);
    for (let i = 1; i <= 6; i += 1) queue.push('telemetry', `t${i}`);
    const a = queue.take(2);
    const b = queue.take(2);
    queue.push('alarm', 'a1');
    queue.push('telemetry', 't7');
    expect(a?.lines).toEqual(['t1', 't2']);
    expect(b?.lines).toEqual(['t3', 't4']);
    queue.release([a as NonNullable<typeof a>, b as NonNullable<typeof b>]);
    expect(queue.waiting).toBe(8);
    const again = queue.take(100);
    expect(again?.lines).toEqual(['a1', 't1', 't2', 't3', 't4', 't5', 't6', 't7']);
  });

  it('drops the oldest waiting telemetry past its bound, never an alarm event, and counts it', () => {
    const queue = make(3);
    queue.push('alarm', 'a1');
    for (let i = 1; i <= 5; i += 1) queue.push('telemetry', `t${i}`);
    queue.push('alarm', 'a2');
    expect(queue.dropped).toBe(4);
    expect(queue.take(100)?.lines).toEqual(['a1', 'a2', 't5']);
  });

  it('holds its bound over a batch given back: what waits past it then is dropped before the next take, oldest first', () => {
    const queue = make(4);
    for (let i = 1; i <= 4; i += 1) queue.push('telemetry', `t${i}`);
    const inFlight = queue.take(2);
    // pushed while the batch is out (InfluxDB down, its write not failed yet): within the bound of what waits
    queue.push('telemetry', 't5');
    queue.push('telemetry', 't6');
    queue.release([inFlight as NonNullable<typeof inFlight>]);
    expect(queue.take(100)?.lines).toEqual(['t3', 't4', 't5', 't6']);
    expect(queue.dropped).toBe(2);
  });
});

describe('the durable spool', () => {
  it('gives back after a reopen everything that was not done, in order', () => {
    const dir = freshDir();
    const before = spoolIn(dir, 100);
    for (let i = 1; i <= 4; i += 1) before.push('telemetry', `t${i}`);
    before.push('alarm', 'a1');
    const written = before.take(2);
    before.done(written as NonNullable<typeof written>);
    before.take(2); // in flight when the process died: not done, so not forgotten
    const after = spoolIn(dir, 100);
    expect(after.waiting).toBe(3);
    expect(after.take(100)?.lines).toEqual(['t2', 't3', 't4']);
  });

  it('drops telemetry that waited longer than maxAge', () => {
    let now = 1_000_000;
    const queue = createSpoolQueue(
      openStore({ dataDir: freshDir(), synchronous: 'normal' }),
      { maxPoints: 100, maxAgeMs: 60_000 },
      () => now,
    );
    queue.push('telemetry', 'old');
    queue.push('alarm', 'old-alarm');
    now += 120_000;
    queue.push('telemetry', 'new');
    expect(queue.take(10)?.lines).toEqual(['old-alarm', 'new']);
    expect(queue.dropped).toBe(1);
  });
});

describe.each([...ADAPTERS, ['spool written in lane commits of three', spoolInLaneCommitsOfThree] as const])(
  'PointQueue against a model — %s',
  (_name, make) => {
    it('never loses, repeats or reorders a point across any sequence of push, take, done and release', () => {
      const op = fc.oneof(
        fc.record({ k: fc.constant('push' as const), kind: fc.constantFrom('alarm' as const, 'telemetry' as const) }),
        fc.record({ k: fc.constant('take' as const), max: fc.integer({ min: 1, max: 5 }) }),
        fc.record({ k: fc.constant('done' as const), pick: fc.nat() }),
        fc.constant({ k: 'release' as const }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const queue = make(1_000);
          let n = 0;
          const inFlight: Array<NonNullable<ReturnType<PointQueue['take']>>> = [];
          const written: string[] = [];
          const pushed: string[] = [];
          for (const o of ops) {
            if (o.k === 'push') {
              const line = `${o.kind[0]}${n++}`;
              pushed.push(line);
              queue.push(o.kind, line);
            } else if (o.k === 'take') {
              const batch = queue.take(o.max);
              if (batch) {
                inFlight.push(batch);
                // what the sink sends (the chunks joined) is the batch's points, one line each
                expect(lineBody(batch.chunks).toString()).toBe(batch.lines.join('\n'));
                expect(batch.points).toBe(batch.lines.length);
                // alarm events first, each kind oldest first
                expect(batch.lines.map((line) => line[0]).join('')).toMatch(/^a*t*$/);
                for (const kind of ['a', 't']) {
                  const numbers = batch.lines.filter((line) => line[0] === kind).map((line) => Number(line.slice(1)));
                  expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
                }
              } else expect(queue.waiting).toBe(0);
            } else if (o.k === 'done' && inFlight.length > 0) {
              const [batch] = inFlight.splice(o.pick % inFlight.length, 1);
              written.push(
                ...lineBody((batch as NonNullable<typeof batch>).chunks)
                  .toString()
                  .split('\n'),
              );
              queue.done(batch as NonNullable<typeof batch>);
            } else if (o.k === 'release') {
              queue.release(inFlight.splice(0));
            }
            const held = inFlight.reduce((sum, b) => sum + b.points, 0);
            expect(queue.waiting).toBe(pushed.length - written.length - held);
          }
          queue.release(inFlight.splice(0));
          for (let batch = queue.take(7); batch; batch = queue.take(7)) {
            written.push(...lineBody(batch.chunks).toString().split('\n'));
            queue.done(batch);
          }
          expect(queue.waiting).toBe(0);
          expect([...written].sort()).toEqual([...pushed].sort());
        }),
        { numRuns: 120 },
      );
    }, 60_000);
  },
);

describe('the spool in the telemetry lane commits', () => {
  it('writes nothing while the lane judges, then the whole batch and the trim past maxPoints in its commit', () => {
    const db = openStore({ dataDir: freshDir(), synchronous: 'normal' });
    const later = createWriteBuffer();
    const queue = createSpoolQueue(db, { maxPoints: 5, maxAgeMs: 86_400_000 }, Date.now, later);
    const rows = db
      .prepare('SELECT count(*), coalesce(sum(n), 0) FROM (SELECT n FROM spool UNION ALL SELECT n FROM spool_telemetry)')
      .raw(true);
    later.collecting(() => {
      for (let i = 1; i <= 8; i += 1) queue.push('telemetry', `t${i}`);
    });
    // the write lock is not needed while judging: no row yet
    expect(rows.get()).toEqual([0, 0]);
    db.transaction(() => later.apply())();
    // one row for the commit's telemetry, its three oldest points cut from its head
    expect(rows.get()).toEqual([1, 5]);
    expect(queue.take(100)?.lines).toEqual(['t4', 't5', 't6', 't7', 't8']);
    expect(queue.dropped).toBe(3);
  });
});

describe("the spool keeps a lane commit's telemetry in rows of several points", () => {
  /** Rows of at most `rowPoints` (half the sink's batch). */
  const laneSpool = (
    dir: string,
    rowPoints: number,
    limits: { maxPoints?: number; maxAgeMs?: number; now?: () => number; room?: () => number } = {},
  ) => {
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const later = createWriteBuffer();
    const queue = createSpoolQueue(
      db,
      {
        maxPoints: limits.maxPoints ?? 1_000,
        maxAgeMs: limits.maxAgeMs ?? 86_400_000,
        batchSize: 2 * rowPoints,
        ...(limits.room && { room: limits.room }),
      },
      limits.now ?? Date.now,
      later,
    );
    const commit = (lines: string[]): void => {
      later.collecting(() => {
        for (const line of lines) queue.push(line.startsWith('a') ? 'alarm' : 'telemetry', line);
      });
      db.transaction(() => later.apply())();
    };
    // telemetry rows (kind 1), then alarm events' (kind 0)
    const rows = db.prepare(
      'SELECT kind, n FROM (SELECT 1 AS kind, n, id, 0 AS t FROM spool_telemetry UNION ALL SELECT kind, n, id, 1 FROM spool) ORDER BY t, id',
    );
    return { db, queue, commit, rows: rows.raw(true) };
  };
  const points = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `t${from + i}`);

  it("writes a commit's telemetry as rows of at most half a batch, alarm events a row each", () => {
    const { queue, commit, rows } = laneSpool(freshDir(), 4);
    commit([...points(1, 6), 'a1', ...points(7, 10)]);
    expect(rows.all()).toEqual([
      [1, 4],
      [1, 4],
      [1, 2],
      [0, 1],
    ]);
    expect(queue.waiting).toBe(11);
  });

  it('takes whole rows while the batch stays within max, in order, and a larger first row alone', () => {
    const { queue, commit } = laneSpool(freshDir(), 4);
    commit(points(1, 10)); // rows of 4, 4, 2
    commit(['a1']);
    const first = queue.take(6);
    expect(first?.lines).toEqual(['a1', 't1', 't2', 't3', 't4']);
    // the rows go to the writer as they were stored, one piece each: a row of several points as its bytes
    expect(first?.chunks).toEqual(['a1', Buffer.from('t1\nt2\nt3\nt4')]);
    expect(first?.points).toBe(5);
    const second = queue.take(6);
    expect(second?.lines).toEqual(['t5', 't6', 't7', 't8', 't9', 't10']);
    expect(second?.chunks.map(String)).toEqual(['t5\nt6\nt7\nt8', 't9\nt10']);
    queue.done(first as PointBatch);
    queue.done(second as PointBatch);
    expect(queue.waiting).toBe(0);
    commit(points(11, 14));
    // a sink whose batches became smaller than a row still gets the row (whole), not nothing
    expect(queue.take(2)?.lines).toEqual(points(11, 14));
  });

  it('keeps a line that holds a newline in a row of its own, and gives it back whole', () => {
    const { queue, commit, rows } = laneSpool(freshDir(), 100);
    commit(['t1', 't2 v="x\ny" 1', 't3', 't4']);
    expect(rows.all()).toEqual([
      [1, 1],
      [1, 1],
      [1, 2],
    ]);
    const batch = queue.take(100) as PointBatch;
    expect(batch.lines).toEqual(['t1', 't2 v="x\ny" 1', 't3', 't4']);
    // counted as one point, sent as its text
    expect(batch.points).toBe(4);
    expect(batch.chunks).toEqual(['t1', 't2 v="x\ny" 1', Buffer.from('t3\nt4')]);
    expect(queue.waiting).toBe(0);
    queue.done(batch);
    expect(queue.take(100)).toBeNull();
  });

  it('gives back after a reopen the rows not done, in order, and counts their points', () => {
    const dir = freshDir();
    const before = laneSpool(dir, 3);
    before.commit(points(1, 7)); // rows of 3, 3, 1
    const written = before.queue.take(3);
    before.queue.done(written as PointBatch);
    before.queue.take(3); // in flight when the process died
    before.db.close();
    const after = laneSpool(dir, 3);
    expect(after.queue.waiting).toBe(4);
    expect(after.queue.take(100)?.lines).toEqual(points(4, 7));
  });

  it('a store of schema 11 (a row per point) is upgraded in place: its points come out one each, in order', () => {
    const dir = freshDir();
    const old = new Database(join(dir, STORE_FILE));
    migrate(old, 11);
    const put = old.prepare('INSERT INTO spool (kind, at, line) VALUES (?, ?, ?)');
    for (const line of ['t1', 't2', 't3']) put.run(1, Date.now(), line);
    put.run(0, Date.now(), 'a1');
    old.close();
    const { queue, commit } = laneSpool(dir, 100);
    commit(['t4', 't5']);
    expect(queue.waiting).toBe(6);
    expect(queue.take(100)?.lines).toEqual(['a1', 't1', 't2', 't3', 't4', 't5']);
  });

  it('takes telemetry beside the alarm events whenever they leave half a batch: an alarm storm does not starve it', () => {
    const { queue, commit } = laneSpool(freshDir(), 2); // batches of 4
    commit(points(1, 8));
    const batches: Array<readonly string[]> = [];
    for (let i = 1; i <= 3; i += 1) {
      commit([`a${i}`]);
      const batch = queue.take(4) as PointBatch;
      batches.push(batch.lines);
      queue.done(batch);
    }
    expect(batches).toEqual([
      ['a1', 't1', 't2'],
      ['a2', 't3', 't4'],
      ['a3', 't5', 't6'],
    ]);
    expect(queue.waiting).toBe(2);
  });

  it('drops rows older than maxAge whole, counting their points, and keeps the rows taken', () => {
    let now = 1_000_000;
    const { queue, commit } = laneSpool(freshDir(), 3, { maxAgeMs: 60_000, now: () => now });
    commit(points(1, 5)); // rows of 3 and 2
    const inFlight = queue.take(3) as PointBatch;
    now += 30_000;
    commit(points(6, 7));
    now += 40_000; // the first commit's rows are 70 s old, the second's 40 s
    commit(['t8']);
    expect(queue.dropped).toBe(2);
    expect(queue.take(100)?.lines).toEqual(['t6', 't7', 't8']);
    queue.done(inFlight);
    expect(inFlight.lines).toEqual(['t1', 't2', 't3']);
    expect(queue.waiting).toBe(0);
  });

  it('drops from rows given back by a failed write, the oldest first, and takes the rest again in order', () => {
    const { queue, commit } = laneSpool(freshDir(), 3, { maxPoints: 6 });
    commit(points(1, 6)); // rows of 3 and 3
    const failed = queue.take(6) as PointBatch;
    queue.release([failed]);
    commit(points(7, 10)); // 10 waiting, bound 6: t1-t4 dropped (a row and the head of the next)
    expect(queue.dropped).toBe(4);
    expect(queue.waiting).toBe(6);
    expect(queue.take(100)?.lines).toEqual(points(5, 10));
  });

  /** Lines of 184 characters: with a point's overhead in the store, 200 bytes a point (the spool's first guess too). */
  const wide = (from: number, to: number): string[] => points(from, to).map((line) => line.padEnd(184, '_'));

  it('short of room in the store or on its disk, drops the oldest waiting telemetry worth the bytes missing and 128 KiB more, never an alarm event', () => {
    let room = 1e9;
    let now = 1_000_000;
    const { queue, commit } = laneSpool(freshDir(), 3, { room: () => room, now: () => now });
    commit([...wide(1, 400), 'a1', ...wide(401, 800)]);
    expect(queue.dropped).toBe(0);
    room = -450; // with the slack 131,522 bytes: 657.6 points of 200 bytes, so 658 go at the next trim (a second on)
    commit(wide(801, 801));
    expect(queue.dropped).toBe(0);
    now += 1_001;
    commit(wide(802, 802));
    expect(queue.dropped).toBe(658);
    room = -1e9; // more than all the telemetry: every waiting point goes, the alarm event stays
    now += 1_001;
    commit(['a2']);
    expect(queue.dropped).toBe(802);
    expect(queue.take(100)?.lines).toEqual(['a1', 'a2']);
  });

  it('trims again within the second once the telemetry pushed since the last trim could take half the room it found', () => {
    let room = 1_000; // half of it: 2.5 points of 200 bytes
    const now = 1_000_000;
    const { queue, commit } = laneSpool(freshDir(), 3, { room: () => room, now: () => now });
    commit(wide(1, 1)); // the first push trims (and finds the room)
    room = -200_000;
    commit(wide(2, 3)); // two pushed since: not yet
    expect(queue.dropped).toBe(0);
    commit(wide(4, 4)); // a third: past the 2.5 — the trim finds the room short and makes it
    expect(queue.dropped).toBe(4);
  });

  it('a store left short of room makes it when the spool opens, before the lane commits anything', () => {
    const dir = freshDir();
    const first = laneSpool(dir, 3);
    first.commit(wide(1, 700));
    first.db.close();
    // bytes a point measured from the rows found (rows of three lines and two newlines, 184⅔ characters a point, and
    // the overhead): 400 bytes and the slack are 655.2 points, so 656 go
    const { queue } = laneSpool(dir, 3, { room: () => -400 });
    expect(queue.dropped).toBe(656);
    expect(queue.take(100)?.lines).toEqual(wide(657, 700));
  });

  it('drops the oldest points past maxPoints from the head of a row, keeping the rest of it', () => {
    const db = openStore({ dataDir: freshDir(), synchronous: 'normal' });
    const later = createWriteBuffer();
    const queue = createSpoolQueue(db, { maxPoints: 5, maxAgeMs: 86_400_000, batchSize: 8 }, Date.now, later);
    later.collecting(() => {
      for (const line of points(1, 8)) queue.push('telemetry', line);
    });
    db.transaction(() => later.apply())();
    expect(queue.dropped).toBe(3);
    expect(queue.waiting).toBe(5);
    expect(queue.take(100)?.lines).toEqual(points(4, 8));
  });
});
