import type { RuleSet } from '../../../rules/src/index.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { buildLaneCore, type LaneSetup } from './build-lane-core.js';
import type { LaneOutlet, TelemetryLane } from './telemetry-lane.js';

/** The lane on the broker's own event loop (`pipeline.thread: main`): every verdict is given at once. */
export async function createInlineLane(
  setup: LaneSetup,
  registry: DeviceRegistry,
  outlet: LaneOutlet,
  metrics: GatewayMetrics,
  log: Logger,
  rules?: RuleSet,
): Promise<TelemetryLane> {
  const { core, sink } = await buildLaneCore(setup, registry, outlet, metrics, log, rules);
  return {
    start: async (now) => core.start(now),
    submit: (device, payload, receivedAt, decided) => decided(core.judge(device, payload, receivedAt)),
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
    },
  };
}
