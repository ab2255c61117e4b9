import type { RuleSet } from '../../../rules/src/index.js';
import type { DeviceRegistry, RegisteredDevice } from '../devices/device-registry.js';
import { fatalFailureOf } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { buildLaneCore, type LaneSetup } from './build-lane-core.js';
import { type LaneOutlet, type LaneVerdict, type TelemetryLane, UNAVAILABLE } from './telemetry-lane.js';

interface Submitted {
  device: RegisteredDevice;
  payload: Buffer;
  receivedAt: number;
  decided(verdict: LaneVerdict): void;
}

/**
 * The lane on the broker's own event loop (`lane.thread: main`). Like the worker, it judges the payloads
 * of one event-loop turn together, in one commit of the local store (group commit), and gives their verdicts
 * once that commit is done.
 */
export async function createInlineLane(
  setup: LaneSetup,
  registry: DeviceRegistry,
  outlet: LaneOutlet,
  metrics: GatewayMetrics,
  log: Logger,
  onFailure: (error: Error) => void,
  rules?: RuleSet,
): Promise<TelemetryLane> {
  const { core, sink, store } = await buildLaneCore(setup, registry, outlet, metrics, log, rules);
  let failure: Error | null = null;
  let pending: Submitted[] = [];
  let scheduled = false;

  /** The store could not write (store_unavailable) or the lane's code failed (internal): the lane ends here. */
  const failed = (error: unknown): void => {
    if (failure) return;
    failure = fatalFailureOf(error, 'the telemetry lane');
    log.fatal({ err: failure }, 'telemetry lane failed');
    onFailure(failure);
  };
  /** Runs one of the core's steps that commit to the store; a failure ends the lane (above). */
  const committing = (step: () => void): void => {
    if (failure) return;
    try {
      step();
    } catch (error) {
      failed(error);
    }
  };

  const judgePending = (): void => {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    if (failure) {
      for (const item of batch) item.decided(UNAVAILABLE);
      return;
    }
    let verdicts: LaneVerdict[];
    try {
      verdicts = core.judgeBatch(batch);
    } catch (error) {
      // Nothing of this batch is acknowledged, and the gateway stops taking telemetry.
      failed(error);
      for (const item of batch) item.decided(UNAVAILABLE);
      return;
    }
    for (let index = 0; index < batch.length; index += 1) (batch[index] as Submitted).decided(verdicts[index] as LaneVerdict);
  };

  return {
    start: async (now) => committing(() => core.start(now)),
    submit(device, payload, receivedAt, decided) {
      if (failure) return decided(UNAVAILABLE);
      pending.push({ device, payload, receivedAt, decided });
      if (!scheduled) {
        scheduled = true;
        setImmediate(judgePending);
      }
    },
    tick(now, held) {
      judgePending();
      committing(() => core.tick(now, held));
    },
    clockStepped(deltaMs, at) {
      judgePending();
      committing(() => core.clockStepped(deltaMs, at));
    },
    acknowledged(key, at) {
      judgePending();
      committing(() => core.acknowledged(key, at));
    },
    ownSites(sites, now, handover) {
      judgePending();
      committing(() => core.ownSites(sites, now, handover));
      return Promise.resolve();
    },
    async reloadRules(now) {
      judgePending();
      return core.reloadRules(now);
    },
    writeAlarmEvent: (event) => sink?.writeAlarmEvent(event),
    alarmEventsSpooled: (count) => sink?.alarmEventsSpooled(count),
    async drain() {
      judgePending();
      await sink?.flush();
    },
    sinkStatus: () => sink?.status() ?? null,
    // judged in the turn after submission: a lane behind shows as the broker's event loop being late
    delay: () => 0,
    unanswered: () => 0,
    workerMetrics: async () => [],
    async close() {
      judgePending();
      committing(() => core.checkpoint());
      await sink?.close();
      store?.close();
    },
  };
}
