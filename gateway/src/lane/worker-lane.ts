import type { Worker } from 'node:worker_threads';
import { errorCodeOf, GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { SinkStatus } from '../sinks/sink.js';
import { laneGone } from '../store/writer-gate.js';
import type { LaneSetup } from './build-lane-core.js';
import type { FromLane, LaneWorkerData, ToLane } from './lane-messages.js';
import { moduleBeside, spawnModuleWorker } from './spawn-worker.js';
import { type LaneOutlet, type LaneVerdict, type TelemetryLane, UNAVAILABLE } from './telemetry-lane.js';

/** The lane's worker: worker-thread.js once built, worker-thread.ts when run from source. */
const LANE_WORKER = moduleBeside(import.meta.url, 'worker-thread');

interface Pending {
  devices: string[];
  receivedAt: number[];
  payloads: Buffer[];
  decided: Array<(verdict: LaneVerdict) => void>;
}

/** A message type added to FromLane but not handled here fails to compile. */
const unhandled = (message: never): never => {
  throw new Error(`unhandled lane message ${JSON.stringify(message)}`);
};

const emptyPending = (): Pending => ({ devices: [], receivedAt: [], payloads: [], decided: [] });
/**
 * The lane's pace is learnt only while it is busy; under light load it is not, so one stall would be remembered for
 * good and hold CONNECTs for a queue that drains at once. Older than this, only the oldest publish's wait counts.
 */
const PACE_FORGOTTEN_MS = 5_000;
/** The worker is asked this often whether it answers (`ping`), when it answered the last one. */
const HEARTBEAT_MS = 1_000;
/** The worker's metrics are waited for this long: one that hangs does not hang `/metrics` (the main thread's go out). */
const METRICS_WAIT_MS = 2_000;
const ACCEPTED: LaneVerdict['rejections'] = [];

/**
 * The lane in a worker thread (`lane.thread: worker`). Telemetry submitted during one turn of the
 * broker's event loop goes over as one message and its verdicts come back as one; the broker holds each
 * PUBLISH (and its PUBACK) until its verdict is in. `onFailure` is told if the worker dies.
 */
export async function createWorkerLane(
  setup: LaneSetup,
  outlet: LaneOutlet,
  log: Logger,
  onFailure: (error: Error) => void,
  spawn: (data: LaneWorkerData) => Worker = (data) => spawnModuleWorker(LANE_WORKER, data),
): Promise<TelemetryLane> {
  const worker = spawn(setup);
  const post = (message: ToLane, transfer: ArrayBuffer[] = []): void => worker.postMessage(message, transfer);
  let pending = emptyPending();
  let flushScheduled = false;
  /** Batches sent and not yet judged, oldest first (the worker answers in order), with when each was sent (performance.now). */
  const awaiting: Array<{ decided: Pending['decided']; sentAt: number }> = [];
  /** How many publishes wait in all (the lane's `delay`). */
  let undecided = 0;
  /**
   * The lane's pace while busy: time between verdicts with batches still waiting, over the publishes those verdicts
   * decided, both decayed per message (recent pace counts most).
   */
  let busyMs = 0;
  let busyDecided = 0;
  let lastVerdictAt = 0;
  /** When the pace was last learnt: a pace older than PACE_FORGOTTEN_MS (one stall, then light load) is not used. */
  let pacedAt = Number.NEGATIVE_INFINITY;
  const answers = new Map<number, { resolve: (message: FromLane) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let sinkStatus: SinkStatus | null = null;
  let failure: Error | null = null;
  /** When the heartbeat not answered yet was sent (performance.now), or null. */
  let pingedAt: number | null = null;
  let heartbeat: NodeJS.Timeout | undefined;
  let closing = false;
  /** The worker said `ready`: a `failed` from now on means it is ending. */
  let started = false;

  const ask = <T extends FromLane['type']>(message: ToLane & { id: number }): Promise<Extract<FromLane, { type: T }>> =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      answers.set(message.id, { resolve: resolve as (message: FromLane) => void, reject });
      post(message);
    });

  /** The worker is gone: every verdict and answer still owed is given now, and nothing is sent any more. */
  const fail = (error: Error): void => {
    if (failure) return;
    failure = error;
    clearInterval(heartbeat);
    // it may have died inside a commit: the broker side's writes must not wait for it
    if (setup.writerGate) laneGone(setup.writerGate);
    const owed = [...awaiting.splice(0).map((batch) => batch.decided), pending.decided];
    undecided = 0;
    pending = emptyPending();
    for (const decided of owed) for (const decide of decided) decide(UNAVAILABLE);
    for (const answer of answers.values()) answer.reject(error);
    answers.clear();
    if (closing) return;
    log.fatal({ err: error }, 'telemetry worker failed');
    onFailure(error);
  };

  /** A verdict for `count` publishes came: if the lane was busy since the last one, that time was theirs. */
  const paced = (count: number): void => {
    const at = performance.now();
    if (lastVerdictAt > 0) {
      busyMs = 0.95 * busyMs + (at - lastVerdictAt);
      busyDecided = 0.95 * busyDecided + count;
      pacedAt = at;
    }
    lastVerdictAt = awaiting.length > 0 ? at : 0;
  };

  /** Alarm events spooled by the broker side that the worker's sink has not been told of. */
  let spooledUntold = 0;
  const tellSpooled = (): void => {
    const count = spooledUntold;
    spooledUntold = 0;
    if (!failure) post({ type: 'alarmSpooled', count });
  };

  const flush = (): void => {
    flushScheduled = false;
    const batch = pending;
    pending = emptyPending();
    if (batch.devices.length === 0) return;
    if (failure) {
      for (const decide of batch.decided) decide(UNAVAILABLE);
      return;
    }
    let total = 0;
    for (const payload of batch.payloads) total += payload.length;
    const bytes = new ArrayBuffer(total);
    const view = new Uint8Array(bytes);
    const offsets = new Array<number>(batch.payloads.length + 1);
    let at = 0;
    for (let i = 0; i < batch.payloads.length; i += 1) {
      const payload = batch.payloads[i] as Buffer;
      offsets[i] = at;
      view.set(payload, at);
      at += payload.length;
    }
    offsets[batch.payloads.length] = at;
    awaiting.push({ decided: batch.decided, sentAt: performance.now() });
    undecided += batch.decided.length;
    post({ type: 'batch', devices: batch.devices, receivedAt: batch.receivedAt, offsets, bytes }, [bytes]);
  };

  worker.on('message', (message: FromLane) => {
    switch (message.type) {
      case 'verdicts': {
        const batches = awaiting.splice(0, message.batches);
        let count = 0;
        for (const batch of batches) count += batch.decided.length;
        undecided -= count;
        paced(count);
        let index = 0;
        let next = 0;
        for (const { decided } of batches) {
          for (const decide of decided) {
            let rejections = ACCEPTED;
            const entry = message.rejections[next];
            if (entry && entry[0] === index) {
              rejections = entry[1];
              next += 1;
            }
            decide({ accepted: message.accepted[index] ?? 0, rejections });
            index += 1;
          }
        }
        return;
      }
      case 'engineChanges':
        return outlet.engineChanged?.(message.changes, message.accepted);
      case 'alarmChanges':
        return outlet.alarmChanges(message.changes, message.upTo);
      case 'refused':
        return outlet.pointsRefused?.(message.points);
      case 'readings':
        for (const [device, ts, metrics, at] of message.entries) outlet.readingStored(device, ts, metrics, at);
        return;
      case 'sinkStatus':
        sinkStatus = message.status;
        return;
      case 'pong':
        pingedAt = null;
        return;
      case 'reloaded':
      case 'drained':
      case 'flushed':
      case 'owned':
      case 'metrics':
      case 'closed': {
        const answer = answers.get(message.id);
        answers.delete(message.id);
        answer?.resolve(message);
        return;
      }
      case 'failed':
        // while starting, answered below; afterwards the worker says why it is about to end (store_unavailable)
        if (started) fail(new GatewayError(errorCodeOf(message.code), message.message));
        return;
      case 'ready':
        // answered while starting (below); a second one changes nothing
        return;
      default:
        return unhandled(message);
    }
  });
  worker.on('error', (error) => fail(error));
  worker.on('exit', (code) => fail(new GatewayError('internal', `telemetry worker exited with code ${code}`)));

  await new Promise<void>((resolve, reject) => {
    const first = (message: FromLane): void => {
      if (message.type !== 'ready' && message.type !== 'failed') return;
      worker.off('message', first);
      if (message.type === 'ready') resolve();
      else {
        const text = `telemetry worker failed to start: ${message.message}`;
        // a code from the catalogue (store_unavailable: the data directory) is the operator's to fix; anything
        // else is a fault, reported with its stack by the caller
        reject(message.code === undefined ? new Error(text) : new GatewayError(errorCodeOf(message.code), text));
      }
    };
    worker.on('message', first);
    worker.once('error', reject);
  });

  started = true;
  heartbeat = setInterval(() => {
    if (failure || pingedAt !== null) return;
    pingedAt = performance.now();
    post({ type: 'ping' });
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return {
    async start(now) {
      post({ type: 'start', now });
    },
    submit(device, payload, receivedAt, decided) {
      if (failure) return decided(UNAVAILABLE);
      pending.devices.push(device.id);
      pending.receivedAt.push(receivedAt);
      pending.payloads.push(payload);
      pending.decided.push(decided);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    },
    tick(now, held) {
      flush();
      if (!failure) post({ type: 'tick', now, ...(held ? { held: [...held] } : {}) });
    },
    clockStepped(deltaMs, at) {
      flush();
      if (!failure) post({ type: 'clockStepped', deltaMs, at });
    },
    acknowledged(key, at) {
      flush();
      if (!failure) post({ type: 'acknowledged', key, at });
    },
    async ownSites(sites, now, handover = []) {
      flush();
      // a lane that failed judges nothing more
      await ask<'owned'>({ type: 'ownSites', id: nextId++, sites: sites === null ? null : [...sites], now, handover: [...handover] }).catch(
        () => undefined,
      );
    },
    async reloadRules(now) {
      flush();
      return (await ask<'reloaded'>({ type: 'reload', id: nextId++, now })).result;
    },
    alarmEventsSpooled(count) {
      // Told once the alarm book's commit is over (it spools inside it), after what that commit sends out — the
      // webhook's request first — and once for all the events of one commit.
      if (spooledUntold === 0) queueMicrotask(tellSpooled);
      spooledUntold += count;
    },
    writeAlarmEvent(event) {
      if (!failure) post({ type: 'alarmEvent', event });
    },
    async drain() {
      flush();
      await ask<'drained'>({ type: 'drain', id: nextId++ });
      // The alarm changes of that drain are applied by now and their events posted back for InfluxDB:
      // the sink is flushed after them.
      await ask<'flushed'>({ type: 'flush', id: nextId++ });
    },
    sinkStatus: () => sinkStatus,
    unanswered: () => (failure || pingedAt === null ? 0 : performance.now() - pingedAt),
    delay() {
      // the batch this turn collects goes over at its end: its publishes wait behind the others
      const waiting = undecided + pending.decided.length;
      if (waiting === 0) return 0;
      const now = performance.now();
      const perPublish = busyDecided > 0 && now - pacedAt < PACE_FORGOTTEN_MS ? busyMs / busyDecided : 0;
      const first = awaiting[0];
      const oldest = first ? now - first.sentAt : 0;
      return Math.max(oldest, waiting * perPublish);
    },
    async workerMetrics(options = {}) {
      // A dead worker's metrics are gone; /metrics still serves the main thread's.
      if (failure) return [];
      const request = {
        type: 'metrics',
        id: nextId++,
        ...(options.collectGarbage ? { collectGarbage: true } : {}),
        ...(options.names ? { names: [...options.names] } : {}),
      } as const;
      let waited: NodeJS.Timeout | undefined;
      const late = new Promise<{ metrics: unknown[] }>((resolve) => {
        waited = setTimeout(() => {
          answers.delete(request.id);
          resolve({ metrics: [] });
        }, METRICS_WAIT_MS);
      });
      const answer = ask<'metrics'>(request).catch(() => ({ metrics: [] }));
      const { metrics } = await Promise.race([answer, late]);
      clearTimeout(waited);
      return metrics;
    },
    async close() {
      clearInterval(heartbeat);
      flush();
      if (failure) return;
      await ask<'drained'>({ type: 'drain', id: nextId++ });
      closing = true;
      // The events of the last alarm changes were posted before this: the worker writes them, then closes its sink.
      await ask<'closed'>({ type: 'close', id: nextId++ }).catch(() => undefined);
      await worker.terminate();
    },
  };
}
