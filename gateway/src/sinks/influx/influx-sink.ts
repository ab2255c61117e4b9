import type { AlarmEvent, Reading } from '../../../../rules/src/index.js';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { backoffDelay, type Sink, type SinkStatus } from '../sink.js';
import type { InfluxWriter } from './influx-writer.js';
import { alarmEventLine, telemetryLine } from './line-protocol.js';
import { createMemoryPointQueue, type PointBatch, type PointKind, type PointQueue } from './point-queue.js';

export interface InfluxSinkDeps {
  writer: InfluxWriter;
  batchSize: number;
  flushIntervalMs: number;
  /** Where points wait: the durable spool of the local store, or (without one) memory bounded by `maxQueuedPoints`. */
  queue?: PointQueue;
  maxQueuedPoints: number;
  /** Batches written at once while a backlog of full batches waits (1: strictly one request at a time). */
  maxInFlight?: number;
  metrics: GatewayMetrics;
  log: Logger;
  /** Points InfluxDB refused as invalid, each with its reason (for the quarantine); the rest of their batch is written. */
  onRefused?(points: RefusedPoint[]): void;
  /** How long closing goes on writing a durable spool's backlog (default CLOSE_FLUSH_MS); the rest waits for the next start. */
  closeFlushMs?: number;
}

/** A point InfluxDB refused (a 4xx for it alone), with what InfluxDB said. */
export interface RefusedPoint {
  line: string;
  reason: string;
}

/** A point that could not be written, named for the quarantine (its tags where `refusedPointEntry` reads them). */
const telemetrySeries = (reading: Reading): string => `telemetry,device=${reading.device},site=${reading.site} ts=${reading.ts}`;
const alarmEventSeries = (event: AlarmEvent): string =>
  `alarm_events,device=${event.data.alarm.device},site=${event.data.alarm.site} ${event.id}`;

const isRefusal = (error: unknown): error is GatewayError => error instanceof GatewayError && error.code === 'influx_rejected';

/** The HTTP status a writer's failure carries (`details.status`), or null. */
const statusOf = (error: unknown): number | null => {
  const details = error instanceof GatewayError ? (error.details as { status?: unknown } | undefined) : undefined;
  return typeof details?.status === 'number' ? details.status : null;
};

export interface InfluxSink extends Sink {
  writeTelemetry(reading: Reading): void;
  writeAlarmEvent(event: AlarmEvent): void;
  /**
   * `count` alarm-event points were put in the durable spool by the broker side (`createSpoolWriter`), in the alarm
   * book's commit, which may still be open: the sink takes them once the caller's synchronous work is done.
   */
  alarmEventsSpooled(count: number): void;
  /** Resolves when everything queued so far is written (or the sink gave up on it). */
  flush(): Promise<void>;
}

const SINK = 'influxdb';
/** A durable spool's backlog is written at shutdown for this long at most (well inside a supervisor's 30 s grace). */
const CLOSE_FLUSH_MS = 10_000;

/**
 * Batches points by size and interval and writes them oldest first: one request at a time, or up to
 * `maxInFlight` while full batches are waiting (a backlog after an outage drains faster; InfluxDB orders
 * points by their own timestamps). Alarm events go ahead of telemetry. While InfluxDB is unreachable
 * failed batches go back to the front of the queue, oldest first, and are retried with backoff. The
 * queue is the durable spool when the gateway has a local store: what waits there survives a restart.
 */
export function createInfluxSink(deps: InfluxSinkDeps): InfluxSink {
  const queue = deps.queue ?? createMemoryPointQueue(deps.maxQueuedPoints);
  const writing = new Set<Promise<void>>();
  /** Batches whose write failed, held until no writer is busy and then released in the order they were taken. */
  let failed: Array<{ taken: number; batch: PointBatch }> = [];
  let taken = 0;
  const maxInFlight = Math.max(1, deps.maxInFlight ?? 1);
  let timer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let failures = 0;
  let lastError: string | null = null;
  let prepared = false;
  let closed = false;
  let droppedSeen = 0;

  const queued = (): number => queue.waiting;
  const gauge = (): void => {
    deps.metrics.sinkQueued.set({ sink: SINK }, queued());
    if (queue.dropped > droppedSeen) {
      deps.metrics.sinkDropped.inc({ sink: SINK, reason: 'queue_full' }, queue.dropped - droppedSeen);
      droppedSeen = queue.dropped;
    }
  };

  /** Writes `lines`, splitting on refusal down to the single refused points; other failures are thrown. */
  const isolate = async (lines: readonly string[], refused: RefusedPoint[], known?: GatewayError): Promise<void> => {
    let refusal = known;
    if (!refusal) {
      try {
        await deps.writer.write(lines);
        return;
      } catch (error) {
        if (!isRefusal(error)) throw error;
        refusal = error;
      }
    }
    if (lines.length === 1) {
      refused.push({ line: lines[0] as string, reason: refusal.message });
      return;
    }
    const half = lines.length >> 1;
    await isolate(lines.slice(0, half), refused);
    await isolate(lines.slice(half), refused);
  };

  /** Writes one batch; false when the queue had none to give (points counted but not committed yet: a lane's commit waits). */
  const writeOnce = async (): Promise<boolean> => {
    if (!prepared) {
      await deps.writer.prepare();
      prepared = true;
    }
    const batch = queue.take(deps.batchSize);
    if (batch === null) return false;
    taken += 1;
    const order = taken;
    const stop = deps.metrics.sinkLatency.startTimer({ sink: SINK });
    try {
      await deps.writer.write(batch.chunks);
      stop();
      queue.done(batch);
      deps.metrics.sinkWritten.inc({ sink: SINK }, batch.points);
      // With a retry pending another writer's batch is still waiting: not recovered yet.
      if (!retryTimer) {
        if (failures > 0) deps.log.info({ target: deps.writer.target, after: failures }, 'influxdb writes recovered');
        failures = 0;
        lastError = null;
      }
    } catch (error) {
      stop();
      if (isRefusal(error)) {
        // Which points? Halves are written again until each refusal is one point (InfluxDB takes a point written
        // twice as one): the rest of the batch is stored, only the refused go to the quarantine, counted as such.
        const refused: RefusedPoint[] = [];
        try {
          await isolate(batch.lines, refused, error);
        } catch (again) {
          failed.push({ taken: order, batch });
          throw again;
        }
        queue.done(batch);
        deps.metrics.sinkWritten.inc({ sink: SINK }, batch.points - refused.length);
        deps.metrics.sinkDropped.inc({ sink: SINK, reason: 'rejected' }, refused.length);
        deps.log.error({ err: error, points: batch.points, refused: refused.length }, 'influxdb refused points');
        if (refused.length > 0) deps.onRefused?.(refused);
        return true;
      }
      // 404 to a write: the database (or bucket) is gone — InfluxDB recreated without its data, or it was dropped.
      // Prepared again before the next attempt (CREATE DATABASE and its retention policy), not retried for ever.
      if (statusOf(error) === 404) prepared = false;
      failed.push({ taken: order, batch });
      throw error;
    }
    return true;
  };

  /** Drains that stopped with nothing committed to take. */
  let starvedDrains = 0;
  /**
   * One writer: batches until the queue holds less than a full batch (or a write fails: then retry later). Resolves
   * true when it stopped because nothing committed was left to take (points counted while a lane's commit waits).
   */
  /** While closing with the durable spool: no write starts after this (the rest waits for the next start). */
  let stopWritingAt = Number.POSITIVE_INFINITY;
  const drainLoop = async (): Promise<boolean> => {
    try {
      while (queued() > 0 && !retryTimer && Date.now() < stopWritingAt) {
        if (!(await writeOnce())) {
          starvedDrains += 1;
          return true;
        }
        if (queued() < deps.batchSize && !closed) break;
      }
    } catch (error) {
      // Two writers failing together are one failure of the server: the second waits for the same retry.
      if (retryTimer) return false;
      failures += 1;
      lastError = (error as Error).message;
      deps.metrics.sinkFailed.inc({ sink: SINK });
      if (failures === 1 || failures % 20 === 0) deps.log.warn({ err: error, failures, queued: queued() }, 'influxdb write failed');
      if (!closed && !retryTimer) {
        retryTimer = setTimeout(
          () => {
            retryTimer = null;
            pump();
          },
          backoffDelay(failures, 250, 30_000),
        );
        retryTimer.unref();
      }
    } finally {
      gauge();
    }
    return false;
  };

  const restoreFailed = (): void => {
    const batches = failed.sort((a, b) => a.taken - b.taken).map((entry) => entry.batch);
    failed = [];
    if (batches.length > 0) queue.release(batches);
    gauge();
  };

  const pump = (): void => {
    if (retryTimer || queued() === 0) return;
    // A second writer only when a full batch is waiting beyond the one being written.
    while (writing.size < maxInFlight && (writing.size === 0 || queued() >= deps.batchSize)) {
      const loop: Promise<void> = drainLoop().then((starved) => {
        writing.delete(loop);
        if (writing.size > 0) return;
        restoreFailed();
        // Starved: what is counted is not committed yet (a lane's commit waits): pumping again at once would spin
        // without a turn of the event loop; the next push or the flush timer takes it once it is.
        if (!closed && !starved && queued() >= deps.batchSize) pump();
      });
      writing.add(loop);
      if (queued() === 0) break;
    }
  };

  /**
   * A pump after the caller's synchronous work: a lane pushes while it judges, and its pushes become rows only in
   * its commit, so a batch taken in the middle would miss them (and trim outside the commit); the broker side spools
   * alarm events inside the alarm book's commit.
   */
  let pumpQueued = false;
  const pumpSoon = (): void => {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      pump();
    });
  };

  /**
   * The line of a point, or undefined for one that line protocol cannot write (a value no float field takes): refused
   * here as InfluxDB would refuse it (quarantined, counted), not thrown into the lane judging the reading. `seriesOf`
   * names it for the quarantine, only then (this runs for every reading).
   */
  const lineOf = <T>(build: (point: T) => string | undefined, point: T, seriesOf: (point: T) => string): string | undefined => {
    try {
      return build(point);
    } catch (error) {
      const series = seriesOf(point);
      deps.metrics.sinkDropped.inc({ sink: SINK, reason: 'rejected' });
      deps.log.error({ err: error, series }, 'point not writable');
      deps.onRefused?.([{ line: series, reason: (error as Error).message }]);
      return undefined;
    }
  };

  const enqueue = (line: string | undefined, kind: PointKind): void => {
    if (line === undefined) return;
    queue.push(kind, line);
    if (queued() >= deps.batchSize) pumpSoon();
  };

  return {
    name: SINK,
    writeTelemetry: (reading) => enqueue(lineOf(telemetryLine, reading, telemetrySeries), 'telemetry'),
    writeAlarmEvent: (event) => enqueue(lineOf(alarmEventLine, event, alarmEventSeries), 'alarm'),
    alarmEventsSpooled(count) {
      queue.addedElsewhere?.('alarm', count);
      // Not inside the alarm book's commit: a take may tidy the spool, a write that would wait for that commit's lock
      // (on the same thread, with the lane on the main thread: for SQLite's whole busy timeout, then fail).
      pumpSoon();
    },
    async start() {
      timer = setInterval(() => {
        gauge();
        pump();
      }, deps.flushIntervalMs);
      timer.unref();
      try {
        await deps.writer.prepare();
        prepared = true;
      } catch (error) {
        lastError = (error as Error).message;
        deps.log.warn({ err: error, target: deps.writer.target }, 'influxdb not reachable at start; will retry');
      }
    },
    async flush() {
      for (let round = 0; round < 1_000 && (queued() > 0 || writing.size > 0); round += 1) {
        if (retryTimer) return;
        const starvedBefore = starvedDrains;
        pump();
        if (writing.size > 0) await Promise.all(writing);
        // what is left is counted but not committed (a lane's commit waits): rounds without a turn of the event loop
        // would only keep it waiting
        if (starvedDrains > starvedBefore) return;
      }
    },
    async close() {
      closed = true;
      // Batch by batch until nothing waits; a queue that hands out nothing more ends it too (never a spin). The
      // durable spool keeps what is left for the next start: its writes stop at CLOSE_FLUSH_MS, so that a backlog of
      // millions of points does not outlast the supervisor's grace period (SIGKILL before the store is closed).
      if (queue.durable) stopWritingAt = Date.now() + (deps.closeFlushMs ?? CLOSE_FLUSH_MS);
      if (timer) clearInterval(timer);
      if (retryTimer) {
        clearTimeout(retryTimer);
        retryTimer = null;
      }
      while (writing.size > 0) await Promise.all(writing);
      restoreFailed();
      try {
        for (let before = queued(); before > 0; before = queued()) {
          if (Date.now() >= stopWritingAt) {
            deps.log.info({ spooled: before }, 'shutdown: points left in the spool for the next start');
            break;
          }
          await writeOnce();
          if (queued() >= before) break;
        }
        // a write a commit's pump started meanwhile: answered before the store closes
        while (writing.size > 0) await Promise.all(writing);
      } catch (error) {
        restoreFailed();
        if (queue.durable) deps.log.warn({ err: error, spooled: queued() }, 'influxdb unreachable at shutdown; points kept in the spool');
        else deps.log.error({ err: error, lost: queued() }, 'influxdb unreachable at shutdown; queued points lost');
      }
    },
    status(): SinkStatus {
      const healthy = prepared && failures === 0;
      if (healthy) return { name: SINK, ready: true, reason: null, queued: queued(), dropped: queue.dropped };
      const problem = lastError ?? 'not yet connected';
      // Points wait on disk: the gateway still takes telemetry safely, so it stays ready, and says why it is degraded.
      if (queue.durable)
        return {
          name: SINK,
          ready: true,
          reason: `degraded: spooling ${queued()} points (${problem})`,
          queued: queued(),
          dropped: queue.dropped,
        };
      return { name: SINK, ready: false, reason: problem, queued: queued(), dropped: queue.dropped };
    },
  };
}
