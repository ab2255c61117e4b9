import type { RuleSet } from '../../../rules/src/index.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { buildLaneCore, type LaneSetup } from './build-lane-core.js';
import { type LaneOutlet, type LaneVerdict, type TelemetryLane, UNAVAILABLE } from './telemetry-lane.js';

/** The lane on the broker's own event loop (`pipeline.thread: main`): every verdict is given at once. */
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
  return {
    start: async (now) => core.start(now),
    submit(device, payload, receivedAt, decided) {
      if (failure) return decided(UNAVAILABLE);
      let verdict: LaneVerdict;
      try {
        verdict = core.commit(() => core.judge(device, payload, receivedAt));
      } catch (error) {
        // The store could not write: nothing of this payload is acknowledged, and the gateway stops taking telemetry.
        failure = new GatewayError('store_unavailable', `the local store cannot write: ${(error as Error).message}`, undefined, {
          cause: error,
        });
        log.fatal({ err: failure }, 'telemetry store failed');
        onFailure(failure);
        return decided(UNAVAILABLE);
      }
      decided(verdict);
    },
    tick: (now) => core.tick(now),
    acknowledged: (key, at) => core.acknowledged(key, at),
    reloadRules: async (now) => core.reloadRules(now),
    writeAlarmEvent: (event) => sink?.writeAlarmEvent(event),
    async drain() {
      await core.pipeline.drain();
      await sink?.flush();
    },
    sinkStatus: () => sink?.status() ?? null,
    workerMetrics: async () => [],
    async close() {
      await core.pipeline.drain();
      await sink?.close();
      store?.close();
    },
  };
}
