import type { LineChunk } from './line-body.js';

/** Where a line waits for InfluxDB: alarm events go ahead of telemetry and are never dropped for room. */
export type PointKind = 'alarm' | 'telemetry';

/** Points taken together for one write. */
export interface PointBatch {
  /**
   * The batch's line protocol in order, in pieces of one line or of several joined by '\n' (a spool row, as its
   * bytes): joined by '\n' they are the write's body, so a row goes out as it was stored, never split and joined again.
   */
  readonly chunks: readonly LineChunk[];
  /** How many points the chunks hold. */
  readonly points: number;
  /** One line per point (the chunks split where they hold several): to find which points InfluxDB refused. */
  readonly lines: readonly string[];
  /** The queue's own bookkeeping of what it handed out (ids, positions); opaque to the sink. */
  readonly token: unknown;
}

/**
 * The InfluxDB sink's queue (port). Points are taken oldest first, alarm events before telemetry; a taken
 * batch is either `done` (written: forgotten) or `released` (failed: taken again, in its old order).
 * Adapters: in memory (bounded, lost on exit) and the durable spool in the local store.
 */
export interface PointQueue {
  push(kind: PointKind, line: string): void;
  take(max: number): PointBatch | null;
  done(batch: PointBatch): void;
  /** Failed batches, all at once once no write is in flight: they go back in front, oldest first. */
  release(batches: readonly PointBatch[]): void;
  /** Points not yet taken. */
  readonly waiting: number;
  /** Telemetry dropped so far to stay within the bound (oldest first). */
  readonly dropped: number;
  /** True when what waits survives a restart. */
  readonly durable: boolean;
  /** Durable queues: `count` points of `kind` were added by another connection to the same store (counted now). */
  addedElsewhere?(kind: PointKind, count: number): void;
}

/** The in-memory adapter: bounded by `maxPoints` (the oldest waiting telemetry makes room), lost on exit. */
export function createMemoryPointQueue(maxPoints: number): PointQueue {
  let alarms: string[] = [];
  let telemetry: string[] = [];
  let head = 0;
  let dropped = 0;
  const waiting = (): number => alarms.length + telemetry.length - head;
  /** The oldest waiting telemetry past the bound makes room (after a push, and after a batch given back). */
  const dropPastBound = (): void => {
    while (waiting() > maxPoints && head < telemetry.length) {
      head += 1;
      dropped += 1;
    }
  };

  return {
    push(kind, line) {
      if (kind === 'alarm') alarms.push(line);
      else telemetry.push(line);
      dropPastBound();
    },
    take(max) {
      const lines = alarms.splice(0, max);
      const alarmCount = lines.length;
      const end = Math.min(telemetry.length, head + (max - lines.length));
      for (let i = head; i < end; i += 1) lines.push(telemetry[i] as string);
      head = end;
      if (head > 50_000 && head * 2 > telemetry.length) {
        telemetry = telemetry.slice(head);
        head = 0;
      }
      return lines.length === 0 ? null : { chunks: lines, points: lines.length, lines, token: alarmCount };
    },
    done: () => undefined,
    release(batches) {
      // Newest first to the front, so that the oldest ends up at the head.
      for (const batch of [...batches].reverse()) {
        const alarmCount = batch.token as number;
        alarms = batch.lines.slice(0, alarmCount).concat(alarms);
        telemetry = batch.lines.slice(alarmCount).concat(telemetry.slice(head));
        head = 0;
      }
      dropPastBound();
    },
    get waiting() {
      return waiting();
    },
    get dropped() {
      return dropped;
    },
    durable: false,
  };
}
