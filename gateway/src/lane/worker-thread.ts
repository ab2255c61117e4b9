/**
 * The telemetry lane's worker thread (`lane.thread: worker`): builds the same core as the inline lane
 * from the configuration and answers the broker side's messages (gateway/src/lane/lane-messages.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MetricValue, VerdictChange } from '../../../rules/src/index.js';
import { createDeviceRegistry } from '../devices/device-registry.js';
import { fatalFailureOf, GatewayError } from '../errors.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { buildLaneCore } from './build-lane-core.js';
import { type FromLane, joinVerdicts, type LaneVerdicts, type LaneWorkerData, type ToLane } from './lane-messages.js';
import { createSenders } from './senders.js';
import type { LaneItem, LaneOutlet, LaneVerdict } from './telemetry-lane.js';

/** A message type added to ToLane but not handled here fails to compile. */
const unhandled = (message: never): never => {
  throw new Error(`unhandled lane message ${JSON.stringify(message)}`);
};

if (!parentPort) throw new Error('worker-thread.ts runs as a worker thread');
const port = parentPort;
const send = (message: FromLane, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

type BatchMessage = Extract<ToLane, { type: 'batch' }>;
/**
 * How long one commit of batches judged together should take at most: the broker side's store writes (the alarm
 * book) wait for the lane's commit in progress (writer-gate.ts), so this bounds their wait. Batches are taken
 * together while the payloads' recent cost says they fit; the first is always taken whole.
 */
const COMMIT_TARGET_MS = 20;
const MIN_TOGETHER = 16;
const MAX_TOGETHER = 4096;
/**
 * The longest the lane works through its inbox before its event loop turns: the sink's InfluxDB requests, timers
 * and answers (metrics) run between slices. Judging each message as it was delivered let a lane that fell behind
 * go through up to a thousand of them per turn (Node's limit): seconds without a turn, the sink's writes timed out
 * and `/metrics` hung in a storm.
 */
const SLICE_MS = 25;
/**
 * How long a commit of readings that changed no verdict may wait for the next, while other devices are sending
 * (senders.ts): under a steady load of small batches (a plant's trickle, a paced 5k msg/s) each batch was a commit of
 * its own, about 7 pages of SQLite's log — ~30 KB written and a WAL checkpoint every few hundred commits — for one or
 * two readings. A batch that changes a verdict is committed at once, with those waiting: alarms do not wait,
 * acknowledgements of quiet readings wait up to this. A device sending alone never waits: its connection sends
 * nothing more until its verdicts are in (a commit that waited throttled QoS 1 over one connection from 24.5k to
 * 6.6k msg/s).
 */
const COMMIT_WAIT_MS = 10;

const setup = workerData as LaneWorkerData;
const commitWaitMs = setup.commitWaitMs ?? COMMIT_WAIT_MS;
const log = createLogger(setup.config.logLevel).child({ thread: 'lane' });
const metrics = createGatewayMetrics({ processMetrics: false, threadMetrics: true });
/** The lane's own device table, from the secret-free device list it was given (a lookup per payload stays in this thread). */
const registry = createDeviceRegistry(setup.config.devices);

/** The registry as prom-client JSON, or only the metrics named (those this thread has). */
const metricsAsJson = async (names: readonly string[] | undefined): Promise<unknown[]> => {
  if (!names) return metrics.registry.getMetricsAsJSON();
  const found = names.flatMap((name) => metrics.registry.getSingleMetric(name) ?? []);
  return Promise.all(found.map((metric) => metric.get()));
};

/** Last values per device, merged over one slice of readings and sent once (the API shows the latest). */
let latest = new Map<string, { ts: number; metrics: Record<string, MetricValue>; at: number }>();
let latestScheduled = false;
/** A commit waits (set once the lane's core exists): its readings' values are sent once it is done, not before. */
let commitWaiting = (): boolean => false;
const sendLatest = (): void => {
  latestScheduled = false;
  if (latest.size === 0 || commitWaiting()) return;
  const entries = [...latest].map(
    ([device, entry]) => [device, entry.ts, entry.metrics, entry.at] as [string, number, Record<string, MetricValue>, number],
  );
  latest = new Map();
  send({ type: 'readings', entries });
};
const outlet: LaneOutlet = {
  // posted (and so copied) at once, before the alarm changes of the same commit
  ...(setup.config.clustered ? { engineChanged: (changes, accepted) => send({ type: 'engineChanges', changes, accepted }) } : {}),
  alarmChanges: (changes: readonly VerdictChange[], upTo?: number) => send({ type: 'alarmChanges', changes: [...changes], upTo }),
  pointsRefused: (points) => send({ type: 'refused', points }),
  readingStored(device, ts, values, at) {
    const entry = latest.get(device);
    if (!entry) latest.set(device, { ts, metrics: { ...values }, at });
    else {
      // As the status book does: the latest reading's values win; "last seen" is the latest arrival.
      if (ts >= entry.ts) {
        Object.assign(entry.metrics, values);
        entry.ts = ts;
      }
      entry.at = Math.max(entry.at, at);
    }
    if (!latestScheduled) {
      latestScheduled = true;
      setImmediate(sendLatest);
    }
  },
};

try {
  const { core, sink, store } = await buildLaneCore(setup, registry, outlet, metrics, log);

  let lastStatus = '';
  const reportSinkStatus = (): void => {
    const status = sink?.status() ?? null;
    const text = JSON.stringify(status);
    if (text === lastStatus) return;
    lastStatus = text;
    send({ type: 'sinkStatus', status });
  };
  reportSinkStatus();

  /**
   * The store could not write (store_unavailable) or the lane's code failed (internal): nothing more is judged or
   * acknowledged. The broker side is told why before the thread ends, and treats every publish it still owes as
   * unavailable (connections close, devices resend to the restarted gateway).
   */
  function laneFailed(error: unknown): never {
    const failure = fatalFailureOf(error, 'the telemetry lane');
    log.fatal({ err: failure }, 'telemetry lane failed');
    send({ type: 'failed', code: failure.code, message: failure.message });
    process.exit(1);
  }
  /** Runs one of the core's steps that commit to the store; a failure ends the lane (above). */
  const committing = (step: () => void): void => {
    try {
      step();
    } catch (error) {
      laneFailed(error);
    }
  };

  /** Milliseconds per payload judged, a moving average of the last commits (a storm's readings cost more). */
  let msPerPayload = 0.05;

  commitWaiting = () => core.commitWaiting();
  /** Which devices are sending: a commit waits only while one outside it may send. */
  const senders = createSenders(2 * commitWaitMs);
  /** Verdicts of batches judged in the commit that waits: sent once it is done (nothing is acknowledged before). */
  let held: LaneVerdicts[] = [];
  /** When the waiting commit's first batch was judged. */
  let waitingSince = 0;
  let waitTimer: NodeJS.Timeout | null = null;
  /** Sends the verdicts held, once no commit waits any more (a step that committed took the waiting writes along). */
  const release = (): void => {
    if (core.commitWaiting()) return;
    senders.committed();
    if (held.length === 0) return;
    if (waitTimer) clearTimeout(waitTimer);
    waitTimer = null;
    const answer = joinVerdicts(held);
    held = [];
    send(answer);
    sendLatest();
  };
  /** Runs the waiting commit now (its time is up, or a drain, a flush or a stop wants everything durable). */
  const commitNow = (): void => {
    if (waitTimer) clearTimeout(waitTimer);
    waitTimer = null;
    committing(() => core.flushCommit());
    release();
  };
  /**
   * The batches at the head of the inbox are judged together, in one commit, and each gets its verdicts once what
   * it accepted is durable (group commit): a lane that falls behind (a reconnect storm) takes more per commit
   * instead of paying a commit, a state save per device and a message per small batch. Stops at the first message
   * that is not a batch (the order of messages is kept) or when the next would make the commit longer than
   * COMMIT_TARGET_MS.
   */
  const judgeBatches = (): void => {
    const started = performance.now();
    const batches: BatchMessage[] = [];
    let payloads = 0;
    const together = Math.min(MAX_TOGETHER, Math.max(MIN_TOGETHER, Math.floor(COMMIT_TARGET_MS / msPerPayload)));
    while (head < inbox.length && (batches.length === 0 || payloads < together)) {
      const next = inbox[head] as ToLane;
      if (next.type !== 'batch') break;
      head += 1;
      batches.push(next);
      payloads += next.devices.length;
    }
    let verdicts: LaneVerdicts;
    const wasWaiting = core.commitWaiting();
    for (const batch of batches) for (const device of batch.devices) senders.saw(device, started);
    try {
      verdicts = judgeAll(batches, (!wasWaiting || started - waitingSince < commitWaitMs) && senders.othersSending(started));
    } catch (error) {
      laneFailed(error);
    }
    msPerPayload = 0.8 * msPerPayload + (0.2 * (performance.now() - started)) / Math.max(1, payloads);
    held.push(verdicts);
    if (!core.commitWaiting()) {
      release();
      return;
    }
    if (wasWaiting) return;
    waitingSince = started;
    waitTimer = setTimeout(commitNow, commitWaitMs);
  };

  /**
   * Messages delivered and not yet handled, from `head` on (delivery only queues: the work runs in slices). An index,
   * not `shift()`: a backlog of thousands would be copied once per message taken.
   */
  let inbox: ToLane[] = [];
  let head = 0;
  let sliceScheduled = false;
  const workSlice = (): void => {
    sliceScheduled = false;
    const until = performance.now() + SLICE_MS;
    while (head < inbox.length && performance.now() < until) {
      if ((inbox[head] as ToLane).type === 'batch') judgeBatches();
      else {
        const message = inbox[head] as ToLane;
        head += 1;
        handle(message);
        // a step that committed took the waiting commit's writes with its own
        release();
      }
    }
    if (head >= inbox.length) {
      inbox = [];
      head = 0;
    } else {
      if (head > 1024) {
        inbox = inbox.slice(head);
        head = 0;
      }
      scheduleSlice();
    }
  };
  const scheduleSlice = (): void => {
    if (sliceScheduled) return;
    sliceScheduled = true;
    setImmediate(workSlice);
  };

  /** Judges `batches` together: their verdicts, in one answer. */
  const judgeAll = (batches: readonly BatchMessage[], mayWait: boolean): LaneVerdicts => {
    let payloads = 0;
    for (const batch of batches) payloads += batch.devices.length;
    const answer: LaneVerdicts = {
      type: 'verdicts',
      batches: batches.length,
      accepted: new Array<number>(payloads).fill(0),
      rejections: [],
    };
    const items: LaneItem[] = [];
    /** Per item judged: its index in the answer. */
    const from: number[] = [];
    let offset = 0;
    for (const batch of batches) {
      const bytes = Buffer.from(batch.bytes);
      for (let i = 0; i < batch.devices.length; i += 1) {
        const device = registry.get(batch.devices[i] as string);
        if (!device) {
          answer.rejections.push([offset + i, [{ reason: 'unknown_device', detail: `no device ${batch.devices[i]} in the registry` }]]);
          continue;
        }
        items.push({ device, payload: bytes.subarray(batch.offsets[i], batch.offsets[i + 1]), receivedAt: batch.receivedAt[i] as number });
        from.push(offset + i);
      }
      offset += batch.devices.length;
    }
    const verdicts = core.judgeBatch(items, mayWait);
    for (let k = 0; k < verdicts.length; k += 1) {
      const verdict = verdicts[k] as LaneVerdict;
      const index = from[k] as number;
      answer.accepted[index] = verdict.accepted;
      if (verdict.rejections.length > 0) answer.rejections.push([index, verdict.rejections]);
    }
    answer.rejections.sort((x, y) => x[0] - y[0]);
    return answer;
  };

  function handle(message: ToLane) {
    switch (message.type) {
      case 'batch':
        // taken from the inbox by judgeBatches, several at once
        throw new Error('a batch is judged from the inbox');
      case 'start':
        return committing(() => core.start(message.now));
      case 'tick':
        // The broker side ticks every tickInterval: the sink's status goes back with it, when it changed.
        committing(() => core.tick(message.now, message.held));
        return reportSinkStatus();
      case 'clockStepped':
        return committing(() => core.clockStepped(message.deltaMs, message.at));
      case 'acknowledged':
        return committing(() => core.acknowledged(message.key, message.at));
      case 'ownSites':
        committing(() => core.ownSites(message.sites, message.now, message.handover));
        return send({ type: 'owned', id: message.id });
      case 'alarmEvent':
        return sink?.writeAlarmEvent(message.event);
      case 'alarmSpooled':
        return sink?.alarmEventsSpooled(message.count);
      case 'reload':
        return send({ type: 'reloaded', id: message.id, result: core.reloadRules(message.now) });
      case 'metrics':
        if (message.collectGarbage) (globalThis as { gc?: () => void }).gc?.();
        void metricsAsJson(message.names).then((json) => send({ type: 'metrics', id: message.id, metrics: json }));
        return;
      case 'ping':
        return send({ type: 'pong' });
      case 'drain':
        // every batch before this message is judged, committed and answered, its changes sent: only the latest values
        // may wait
        commitNow();
        sendLatest();
        send({ type: 'drained', id: message.id });
        return;
      case 'flush':
        commitNow();
        void (sink?.flush() ?? Promise.resolve()).then(() => {
          reportSinkStatus();
          send({ type: 'flushed', id: message.id });
        });
        return;
      case 'close':
        // the waiting commit first: a lane without rule state to save (a cluster's node) checkpoints nothing
        commitNow();
        committing(() => core.checkpoint());
        release();
        void (async () => {
          await sink?.close();
          store?.close();
          sendLatest();
          send({ type: 'closed', id: message.id });
          port.close();
        })();
        return;
      default:
        return unhandled(message);
    }
  }
  port.on('message', (message: ToLane) => {
    // metrics are answered at once, not behind a backlog of batches: a storm is when an operator looks at them
    if (message.type === 'metrics') return handle(message);
    inbox.push(message);
    scheduleSlice();
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', message: (error as Error).message, ...(error instanceof GatewayError ? { code: error.code } : {}) });
}
