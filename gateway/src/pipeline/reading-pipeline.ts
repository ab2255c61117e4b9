import type { MetricValue, Reading, RuleEngine, VerdictChange } from '../../../rules/src/index.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';

/** How many readings one turn of the event loop evaluates before yielding. */
const SLICE = 2_000;

export interface ReadingPipelineDeps {
  engine: RuleEngine;
  registry: DeviceRegistry;
  /** The alarm lifecycle's `apply`. */
  alarmChanges(changes: readonly VerdictChange[]): void;
  /** The device status book's `readingStored` (last values for the API). */
  readingStored(device: string, ts: number, metrics: Record<string, MetricValue>, at: number): void;
  metrics: GatewayMetrics;
  log: Logger;
}

export interface ReadingPipeline {
  enqueue(readings: readonly Reading[]): void;
  /** Evaluates time-driven rules (delays, silence, expectations) due at `now`. */
  tick(now: number): void;
  /** Resolves once every queued reading has been evaluated. */
  drain(): Promise<void>;
  readonly queued: number;
}

/**
 * Readings accepted by ingest → telemetry sink, rule engine, alarm changes. Decoupled from the broker
 * hook by a queue processed in slices, so a burst never holds the event loop for long.
 */
export function createReadingPipeline(deps: ReadingPipelineDeps): ReadingPipeline {
  let queue: Reading[] = [];
  let head = 0;
  let scheduled = false;
  let waiters: Array<() => void> = [];

  const processSlice = (): void => {
    scheduled = false;
    const end = Math.min(queue.length, head + SLICE);
    for (; head < end; head += 1) {
      const reading = queue[head] as Reading;
      try {
        deps.readingStored(reading.device, reading.ts, reading.metrics, reading.receivedAt ?? reading.ts);
        const device = deps.registry.get(reading.device);
        if (!device) continue;
        const outcome = deps.engine.onReading(reading, device.context);
        if (outcome.late) deps.metrics.readingsLate.inc();
        if (outcome.changes.length > 0) deps.alarmChanges(outcome.changes);
      } catch (error) {
        deps.log.error({ err: error, device: reading.device }, 'reading evaluation failed');
      }
    }
    if (head >= queue.length) {
      queue = [];
      head = 0;
      const done = waiters;
      waiters = [];
      for (const resolve of done) resolve();
    } else {
      schedule();
    }
    deps.metrics.pipelineQueued.set(queue.length - head);
  };

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(processSlice);
  };

  return {
    enqueue(readings) {
      for (const reading of readings) queue.push(reading);
      schedule();
    },
    tick(now) {
      try {
        const changes = deps.engine.tick(now);
        if (changes.length > 0) deps.alarmChanges(changes);
      } catch (error) {
        deps.log.error({ err: error }, 'rule tick failed');
      }
    },
    drain() {
      if (queue.length === head) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    get queued() {
      return queue.length - head;
    },
  };
}
