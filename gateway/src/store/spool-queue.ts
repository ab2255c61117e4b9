import type { LineChunk } from '../sinks/influx/line-body.js';
import type { PointBatch, PointKind, PointQueue } from '../sinks/influx/point-queue.js';
import { type BatchedInsert, createBatchedInsert } from './batched-insert.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

export interface SpoolLimits {
  /** Points the spool may hold; past it the oldest waiting telemetry is dropped (never alarm events). */
  maxPoints: number;
  /** Waiting telemetry older than this is dropped. */
  maxAgeMs: number;
  /**
   * The most points the sink takes at once (`influx.batchSize`): a row holds at most half of it, so telemetry goes
   * out in every batch whose alarm events leave it half the room.
   */
  batchSize?: number;
  /**
   * Bytes the store may still take (negative: past its bound or the disk's reserve by that much; `storeRoom`):
   * asked at each trim, and while it is short the oldest waiting telemetry is dropped to make that room.
   */
  room?: () => number;
}

/** `spool.kind` of an alarm event (telemetry, kind 1 before schema 13, is in `spool_telemetry`). */
const KIND = { alarm: 0 } as const;
type Range = [first: number, last: number];
interface Token {
  alarm: Range | null;
  telemetry: Range | null;
}

/** Bounds are enforced at most this often (and on the push that crosses maxPoints). */
const TRIM_EVERY_MS = 1_000;
/** Telemetry points one row holds at most (fewer when the sink's batches are smaller than twice this). */
const MAX_ROW_POINTS = 1_000;
/** Bytes a spooled telemetry point takes in the store, about, until the spool has measured its own (a dust collector's line: ~172 B with its row). */
const SPOOL_BYTES_PER_POINT = 200;
/** What a point takes in the store beyond its line's characters (its share of the row and the page), about. */
const POINT_OVERHEAD_BYTES = 16;
/** Short of room, the spool makes this much more than is missing, so that the next commits do not each trim. */
const ROOM_SLACK_BYTES = 128 * 1024;

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
 * The InfluxDB spool in the local store (the durable PointQueue adapter): every point is in a row from the
 * moment it is pushed — inside the caller's transaction, so a reading and its acknowledgement commit
 * together — until InfluxDB has taken it. After a restart the sink finds it here and writes it, in order.
 *
 * The telemetry of one lane commit goes into as few rows as it takes (`n` lines joined by '\n', at most half a batch
 * each): a row is inserted, read and deleted once for hundreds of readings. Alarm events keep a row each. A batch is
 * whole rows: at most `max` points, unless its first row alone is larger (rows spooled before `batchSize` was made
 * smaller).
 */
export function createSpoolQueue(
  db: StoreDatabase,
  limits: SpoolLimits,
  now: () => number,
  /** The lane's write buffer: pushes (and the trims they call for) run in the lane's commit; default: at once. */
  later: WriteBuffer = createWriteBuffer(),
): PointQueue & { readonly points: number } {
  // Alarm events in `spool` (the broker side writes them too: AUTOINCREMENT ids, which the cursor needs), telemetry
  // in `spool_telemetry`, written by this connection alone, its ids given here: no AUTOINCREMENT counter and no index
  // on kind to write in every commit.
  const insertAlarm = createBatchedInsert(db, 'INSERT INTO spool (kind, at, line, n)', 4);
  const insertTelemetry = createBatchedInsert(db, 'INSERT INTO spool_telemetry (id, at, line, n)', 4);
  const waitingTelemetry = db.prepare('SELECT id, n, line FROM spool_telemetry WHERE id > ? ORDER BY id').raw(true);
  // What a take sends: a row of several points as its bytes (the file's text encoding is UTF-8), never decoded; a row
  // of one point as text (a Buffer each would cost more than the string: alarm events, rows of an old store).
  const bytesOf = {
    alarm: db.prepare('SELECT id, n, line FROM spool WHERE id > ? ORDER BY id').raw(true),
    telemetry: db
      .prepare('SELECT id, n, CASE WHEN n > 1 THEN CAST(line AS BLOB) ELSE line END FROM spool_telemetry WHERE id > ? ORDER BY id')
      .raw(true),
  };
  const removeOf = {
    alarm: db.prepare('DELETE FROM spool WHERE id BETWEEN ? AND ? RETURNING n').pluck(),
    telemetry: db.prepare('DELETE FROM spool_telemetry WHERE id BETWEEN ? AND ? RETURNING n').pluck(),
  };
  const dropRows = db.prepare('DELETE FROM spool_telemetry WHERE id > ? AND id <= ?');
  const shorten = db.prepare('UPDATE spool_telemetry SET line = ?, n = ? WHERE id = ?');
  const dropAged = db.prepare('DELETE FROM spool_telemetry WHERE id > ? AND at < ? RETURNING n').pluck();
  const counts = db.prepare('SELECT (SELECT coalesce(sum(n), 0) FROM spool) + (SELECT coalesce(sum(n), 0) FROM spool_telemetry)').pluck();
  /** The last telemetry row's id: the next is one more (ids only grow while the process runs). */
  let lastTelemetryId = (db.prepare('SELECT max(id) FROM spool_telemetry').pluck().get() as number | null) ?? 0;
  const rowPoints = Math.max(1, Math.min(MAX_ROW_POINTS, Math.floor((limits.batchSize ?? 2 * MAX_ROW_POINTS) / 2)));

  let points = counts.get() as number;
  // The characters of the telemetry lines measured (the newest rows at start, then every push): bytes per point.
  const sample = db
    .prepare(
      'SELECT coalesce(sum(length(line)), 0) AS chars, coalesce(sum(n), 0) AS n FROM (SELECT line, n FROM spool_telemetry ORDER BY id DESC LIMIT 10)',
    )
    .get() as { chars: number; n: number };
  let measuredChars = sample.n > 0 ? sample.chars : SPOOL_BYTES_PER_POINT - POINT_OVERHEAD_BYTES;
  let measuredPoints = Math.max(1, sample.n);
  let takenOut = 0;
  /** The last id handed out per kind: rows after it wait. */
  const cursor = { alarm: 0, telemetry: 0 };
  let dropped = 0;
  let lastTrim = 0;
  /** Telemetry pushed since the last trim, and how much may be before the next (half the room it found). */
  let pushedSinceTrim = 0;
  let pushesUntilTrim = Number.POSITIVE_INFINITY;
  /** A trim is collected in the lane's write buffer and not run yet. */
  let trimWaiting = false;

  /** Writes telemetry lines, in order, as rows of up to `rowPoints`; a line with a newline of its own keeps a row. */
  const telemetryRows: BatchedInsert = {
    write(lines) {
      const at = now();
      const values: unknown[] = [];
      let row: string[] = [];
      const close = (): void => {
        if (row.length > 0) values.push(++lastTelemetryId, at, row.join('\n'), row.length);
        row = [];
      };
      for (const line of lines as readonly string[]) {
        if (line.includes('\n')) {
          close();
          values.push(++lastTelemetryId, at, line, 1);
        } else {
          row.push(line);
          if (row.length === rowPoints) close();
        }
      }
      close();
      insertTelemetry.write(values);
    },
  };

  const sum = (pointCounts: readonly number[]): number => pointCounts.reduce((total, n) => total + n, 0);
  const linesOf = (n: number, text: string): string[] => (n === 1 ? [text] : text.split('\n'));

  /** Drops the `excess` oldest waiting telemetry points: whole rows, and the head of the row it ends in. */
  const dropOldest = (excess: number): number => {
    let left = excess;
    let lastWhole = cursor.telemetry;
    let cut: { id: number; n: number; line: string } | null = null;
    for (const [id, n, line] of waitingTelemetry.iterate(cursor.telemetry) as Iterable<[number, number, string]>) {
      if (n <= left) {
        lastWhole = id;
        left -= n;
      } else cut = { id, n, line };
      if (left === 0 || cut) break;
    }
    if (lastWhole > cursor.telemetry) dropRows.run(cursor.telemetry, lastWhole);
    if (cut && left > 0) {
      shorten.run(linesOf(cut.n, cut.line).slice(left).join('\n'), cut.n - left, cut.id);
      left = 0;
    }
    return excess - left;
  };

  /**
   * Past the bound (what waits, a batch given back after a failed write included), or a second since the last trim:
   * a push trims in its commit, a take before anything goes out.
   */
  const trimDue = (at: number): boolean =>
    points - takenOut > limits.maxPoints || pushedSinceTrim > pushesUntilTrim || at - lastTrim > TRIM_EVERY_MS;

  const trim = (): void => {
    lastTrim = now();
    const aged = sum(dropAged.all(cursor.telemetry, lastTrim - limits.maxAgeMs) as number[]);
    let excess = points - aged - limits.maxPoints;
    if (limits.room) {
      // short of room: the points whose bytes make it, and some slack (the aged ones' pages count from the next trim)
      const room = limits.room();
      const perPoint = measuredChars / measuredPoints + POINT_OVERHEAD_BYTES;
      if (room < 0) excess = Math.max(excess, Math.ceil((ROOM_SLACK_BYTES - room) / perPoint));
      pushedSinceTrim = 0;
      pushesUntilTrim = Math.max(0, room) / perPoint / 2;
    }
    const overflow = excess > 0 ? dropOldest(excess) : 0;
    points -= aged + overflow;
    dropped += aged + overflow;
  };

  /** A batch's rows as they were stored (text: one point; bytes: several, one a line), and the points they hold. */
  interface Rows {
    chunks: LineChunk[];
    points: number;
  }

  /** Takes rows of `kind` while the batch stays within `max` points (a first row larger than max is taken whole). */
  const takeKind = (kind: PointKind, max: number, rows: Rows): Range | null => {
    let range: Range | null = null;
    for (const [id, n, line] of bytesOf[kind].iterate(cursor[kind]) as Iterable<[number, number, LineChunk]>) {
      if (rows.points > 0 && rows.points + n > max) break;
      rows.chunks.push(line);
      rows.points += n;
      range = range ? [range[0], id] : [id, id];
      if (rows.points >= max) break;
    }
    if (range) cursor[kind] = range[1];
    return range;
  };

  // A store left short of room (a restart after a long outage): the room is made before the lane's first commit needs it.
  if (limits.room && limits.room() < 0) trim();

  return {
    push(kind, line) {
      const at = now();
      if (kind === 'alarm') later.addRow(insertAlarm, [KIND.alarm, at, line, 1]);
      else {
        later.addRow(telemetryRows, [line]);
        measuredChars += line.length;
        measuredPoints += 1;
        pushedSinceTrim += 1;
      }
      points += 1;
      if (trimWaiting || !trimDue(at)) return;
      // after every insert of the commit: the count it trims to is then the table's
      trimWaiting = true;
      later.addLast(() => {
        trimWaiting = false;
        trim();
      });
    },
    take(max) {
      if (trimDue(now())) trim();
      const rows: Rows = { chunks: [], points: 0 };
      const alarm = takeKind('alarm', max, rows);
      const telemetry = takeKind('telemetry', max, rows);
      if (rows.points === 0) return null;
      takenOut += rows.points;
      const token: Token = { alarm, telemetry };
      return {
        chunks: rows.chunks,
        points: rows.points,
        get lines() {
          return rows.chunks.flatMap((chunk) => (typeof chunk === 'string' ? [chunk] : chunk.toString().split('\n')));
        },
        token,
      };
    },
    done(batch: PointBatch) {
      const token = batch.token as Token;
      let removed = 0;
      if (token.alarm) removed += sum(removeOf.alarm.all(token.alarm[0], token.alarm[1]) as number[]);
      if (token.telemetry) removed += sum(removeOf.telemetry.all(token.telemetry[0], token.telemetry[1]) as number[]);
      points -= removed;
      takenOut -= batch.points;
    },
    release(batches) {
      for (const batch of batches) {
        const token = batch.token as Token;
        if (token.alarm) cursor.alarm = Math.min(cursor.alarm, token.alarm[0] - 1);
        if (token.telemetry) cursor.telemetry = Math.min(cursor.telemetry, token.telemetry[0] - 1);
        takenOut -= batch.points;
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
