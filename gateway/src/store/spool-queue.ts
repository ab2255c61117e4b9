import type { PointBatch, PointKind, PointQueue } from '../sinks/influx/point-queue.js';
import { createBatchedInsert } from './batched-insert.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

export interface SpoolLimits {
  /** Points the spool may hold; past it the oldest waiting telemetry is dropped (never alarm events). */
  maxPoints: number;
  /** Waiting telemetry older than this is dropped. */
  maxAgeMs: number;
}

const KIND = { alarm: 0, telemetry: 1 } as const;
type Range = [first: number, last: number];
interface Token {
  alarm: Range | null;
  telemetry: Range | null;
}

/** Bounds are enforced at most this often (and on the push that crosses maxPoints). */
const TRIM_EVERY_MS = 1_000;

/**
 * Puts alarm-event points into the spool from another connection than the sink's (the broker side, in the commit
 * that records the alarm transition): nothing crosses to the sink's thread but a count (`addedElsewhere`).
 */
export function createSpoolWriter(db: StoreDatabase, now: () => number): { alarm(line: string): void } {
  const insert = db.prepare('INSERT INTO spool (kind, at, line) VALUES (?, ?, ?)');
  return {
    alarm(line) {
      insert.run(KIND.alarm, now(), line);
    },
  };
}

/**
 * The InfluxDB spool in the local store (the durable PointQueue adapter): every point is a row from the
 * moment it is pushed — inside the caller's transaction, so a reading and its acknowledgement commit
 * together — until InfluxDB has taken it. After a restart the sink finds it here and writes it, in order.
 */
export function createSpoolQueue(
  db: StoreDatabase,
  limits: SpoolLimits,
  now: () => number,
  /** The lane's write buffer: pushes (and the trims they call for) run in the lane's commit; default: at once. */
  later: WriteBuffer = createWriteBuffer(),
): PointQueue & { readonly points: number } {
  const insert = createBatchedInsert(db, 'INSERT INTO spool (kind, at, line)', 3);
  const select = db.prepare('SELECT id, line FROM spool WHERE kind = ? AND id > ? ORDER BY id LIMIT ?').raw(true);
  const remove = db.prepare('DELETE FROM spool WHERE kind = ? AND id BETWEEN ? AND ?');
  const dropOldest = db.prepare('DELETE FROM spool WHERE id IN (SELECT id FROM spool WHERE kind = 1 AND id > ? ORDER BY id LIMIT ?)');
  const dropAged = db.prepare('DELETE FROM spool WHERE kind = 1 AND id > ? AND at < ?');
  const counts = db.prepare('SELECT count(*) FROM spool').pluck();

  let points = counts.get() as number;
  let takenOut = 0;
  /** The last id handed out per kind: rows after it wait. */
  const cursor = { alarm: 0, telemetry: 0 };
  let dropped = 0;
  let lastTrim = 0;
  /** A trim is collected in the lane's write buffer and not run yet. */
  let trimWaiting = false;

  const trim = (): void => {
    lastTrim = now();
    const aged = dropAged.run(cursor.telemetry, lastTrim - limits.maxAgeMs).changes;
    const excess = points - aged - limits.maxPoints;
    const overflow = excess > 0 ? dropOldest.run(cursor.telemetry, excess).changes : 0;
    points -= aged + overflow;
    dropped += aged + overflow;
  };

  const takeKind = (kind: PointKind, max: number, lines: string[]): Range | null => {
    if (max <= 0) return null;
    const rows = select.all(KIND[kind], cursor[kind], max) as Array<[number, string]>;
    if (rows.length === 0) return null;
    for (const row of rows) lines.push(row[1]);
    const range: Range = [(rows[0] as [number, string])[0], (rows[rows.length - 1] as [number, string])[0]];
    cursor[kind] = range[1];
    return range;
  };

  return {
    push(kind, line) {
      const at = now();
      later.addRow(insert, [KIND[kind], at, line]);
      points += 1;
      if (trimWaiting || (points - takenOut <= limits.maxPoints && at - lastTrim <= TRIM_EVERY_MS)) return;
      // after every insert of the commit: the count it trims to is then the table's
      trimWaiting = true;
      later.addLast(() => {
        trimWaiting = false;
        trim();
      });
    },
    take(max) {
      if (now() - lastTrim > TRIM_EVERY_MS) trim();
      const lines: string[] = [];
      const alarm = takeKind('alarm', max, lines);
      const telemetry = takeKind('telemetry', max - lines.length, lines);
      if (lines.length === 0) return null;
      takenOut += lines.length;
      const token: Token = { alarm, telemetry };
      return { lines, token };
    },
    done(batch: PointBatch) {
      const token = batch.token as Token;
      let removed = 0;
      if (token.alarm) removed += remove.run(KIND.alarm, token.alarm[0], token.alarm[1]).changes;
      if (token.telemetry) removed += remove.run(KIND.telemetry, token.telemetry[0], token.telemetry[1]).changes;
      points -= removed;
      takenOut -= batch.lines.length;
    },
    release(batches) {
      for (const batch of batches) {
        const token = batch.token as Token;
        if (token.alarm) cursor.alarm = Math.min(cursor.alarm, token.alarm[0] - 1);
        if (token.telemetry) cursor.telemetry = Math.min(cursor.telemetry, token.telemetry[0] - 1);
        takenOut -= batch.lines.length;
      }
    },
    addedElsewhere(_kind, count) {
      points += count;
    },
    get waiting() {
      return points - takenOut;
    },
    get points() {
      return points;
    },
    get dropped() {
      return dropped;
    },
    durable: true,
  };
}
