import type { MetricValue } from '../../../rules/src/index.js';
import { malformedPayload } from '../behaviours/malformed-payload.js';
import { applyMetricSteps } from '../behaviours/metric/apply-metric-steps.js';
import { type DeviceStep, isActive, stepsOf } from '../behaviours/timeline.js';
import type { ActiveEvent, Metrics } from '../models/device-model.js';
import { MODELS } from '../models/model-registry.js';
import { createRng } from '../random/prng.js';
import type { Behaviour } from '../scenario/behaviour-schema.js';
import type { ScenarioDevice } from '../scenario/scenario-schema.js';
import { type DeviceAction, statusTopic, telemetryTopic } from './action.js';

/** Contract §2: a backlog upload holds at most this many readings. */
export const MAX_BACKLOG_READINGS = 1000;
/** Batching PLCs send what they have at least this often (monitors.md: batches of 1–5 s). */
const MAX_BATCH_AGE_MS = 5_000;

export interface DeviceRunSpec {
  device: ScenarioDevice;
  timeline: readonly Behaviour[];
  seed: number;
  /** Virtual (or real) start, epoch ms. */
  start: number;
  /** Last report time; Infinity for an open-ended real-time run. */
  end: number;
}

interface WireReading {
  ts: number | string;
  seq: number;
  metrics: Metrics;
}

interface Boundary {
  at: number;
  order: number;
  step: DeviceStep;
  edge: 'start' | 'end';
}

const eventsAt = (steps: readonly DeviceStep[], t: number): ActiveEvent[] =>
  steps.flatMap((step) =>
    step.behaviour.do === 'event' && isActive(step, t)
      ? [{ name: step.behaviour.name, since: step.from, params: step.behaviour.params }]
      : [],
  );

/**
 * Everything one device does, in time order: connect and announce `online`, report at its interval what its
 * model and the scenario's behaviours say, misbehave on the wire as told (offline with or without backlog,
 * malformed payloads, duplicates, reordering, clock skew). A pure function of the spec: the same spec gives
 * the same actions, byte for byte.
 */
export function* deviceActions(spec: DeviceRunSpec): Generator<DeviceAction> {
  const { device, start, end } = spec;
  const definition = MODELS.get(device.profile);
  if (!definition) throw new Error(`no simulator model for profile "${device.profile}"`);
  const root = createRng(spec.seed).fork(`device:${device.site}/${device.id}`);
  const model = definition.create({ rng: root.fork('model'), attributes: device.attributes, params: device.model, start });
  const behaviourRng = root.fork('behaviours');
  const steps = stepsOf(spec.timeline, device.id, start);
  const memories = new Map<number, Map<string, MetricValue | undefined>>();
  const id = device.id;
  const telemetry = telemetryTopic(device.site, id);
  const status = statusTopic(device.site, id);

  const boundaries: Boundary[] = [];
  for (const step of steps) {
    if (step.behaviour.do === 'offline') {
      boundaries.push({ at: step.from, order: boundaries.length, step, edge: 'start' });
      if (Number.isFinite(step.to)) boundaries.push({ at: step.to, order: boundaries.length, step, edge: 'end' });
    } else if (step.behaviour.do === 'malformed') {
      boundaries.push({ at: step.from, order: boundaries.length, step, edge: 'start' });
    }
  }
  boundaries.sort((a, b) => a.at - b.at || a.order - b.order);

  const intervalAt = (t: number): number => {
    const override = steps.find((step) => step.behaviour.do === 'interval' && isActive(step, t));
    if (override?.behaviour.do === 'interval') return override.behaviour.every;
    return device.interval ?? model.intervalMs(t);
  };

  const firstInterval = device.interval ?? model.intervalMs(start);
  // An aligned model reports on wall-clock multiples of its own interval (a meter's 15-min averages). A forced
  // interval (load mode's rate, a demo's faster cadence) is no such grid: every device would report at the same
  // instants, a fleet in bursts instead of at a rate. It takes a random phase like any other device.
  const aligned = definition.aligned === true && device.interval === undefined;
  let t = aligned
    ? Math.floor(start / firstInterval) * firstInterval + firstInterval
    : start + Math.round(root.fork('phase').between(0.05, 1) * firstInterval);

  let seq = 0;
  let messages = 0;
  let offline: { backlog: boolean } | null = null;
  let backlog: WireReading[] = [];
  let batch: WireReading[] = [];
  let batchStart: number | null = null;
  let held: string | null = null;
  let units: Record<string, string> | undefined;
  let lastMetrics: Metrics = {};

  yield { kind: 'connect', at: start, device: id };
  yield { kind: 'publish', at: start, device: id, topic: status, payload: 'online', retain: true, role: 'status', readings: 0 };

  const publish = (
    at: number,
    payload: string,
    role: 'telemetry' | 'backlog' | 'duplicate' | 'malformed',
    readings: number,
  ): DeviceAction => ({
    kind: 'publish',
    at,
    device: id,
    topic: telemetry,
    payload,
    retain: false,
    role,
    readings,
  });

  const encode = (readings: readonly WireReading[]): string => {
    if (readings.length === 1) {
      const [only] = readings as [WireReading];
      return JSON.stringify(units ? { ...only, units } : only);
    }
    return JSON.stringify(units ? { readings, units } : { readings });
  };

  function* send(at: number, readings: WireReading[]): Generator<DeviceAction> {
    const payload = encode(readings);
    messages += 1;
    const reorder = steps.some((step) => step.behaviour.do === 'reorder' && isActive(step, at));
    if (reorder && held === null) {
      held = payload;
      return;
    }
    yield publish(at, payload, 'telemetry', readings.length);
    if (held !== null) {
      yield publish(at, held, 'telemetry', readings.length);
      held = null;
    }
    const duplicate = steps.find((step) => step.behaviour.do === 'duplicate' && isActive(step, at));
    if (duplicate?.behaviour.do === 'duplicate' && messages % duplicate.behaviour.every === 0)
      yield publish(at, payload, 'duplicate', readings.length);
  }

  let next = 0;
  while (true) {
    const boundary = boundaries[next];
    if (boundary && boundary.at <= t && boundary.at <= end) {
      next += 1;
      const b = boundary.step.behaviour;
      if (b.do === 'malformed') {
        for (const kind of b.kinds) yield publish(boundary.at, malformedPayload(kind, boundary.at, lastMetrics), 'malformed', 0);
      } else if (b.do === 'offline' && boundary.edge === 'start') {
        if (b.backlog) backlog.push(...batch);
        batch = [];
        batchStart = null;
        offline = { backlog: b.backlog };
        yield { kind: 'disconnect', at: boundary.at, device: id, graceful: b.graceful };
      } else if (b.do === 'offline' && boundary.edge === 'end') {
        offline = null;
        // Back from a power cut the device has restarted: seq starts again, with newer times (contract §2). One that
        // kept a backlog kept running, and one that disconnected cleanly kept its count.
        if (!b.graceful && !b.backlog) seq = 0;
        yield { kind: 'connect', at: boundary.at, device: id };
        yield { kind: 'publish', at: boundary.at, device: id, topic: status, payload: 'online', retain: true, role: 'status', readings: 0 };
        for (let i = 0; i < backlog.length; i += MAX_BACKLOG_READINGS) {
          const chunk = backlog.slice(i, i + MAX_BACKLOG_READINGS).map((r) => ({ ...r, ts: new Date(r.ts).toISOString() }));
          yield publish(boundary.at, JSON.stringify(units ? { readings: chunk, units } : { readings: chunk }), 'backlog', chunk.length);
        }
        backlog = [];
      }
      continue;
    }
    if (t > end) break;

    const report = model.read(t, eventsAt(steps, t));
    if (report) {
      const metrics = applyMetricSteps(report.metrics, steps, t, memories, behaviourRng);
      lastMetrics = metrics;
      units = report.units;
      const skew = steps.reduce((sum, step) => (step.behaviour.do === 'skew' && isActive(step, t) ? sum + step.behaviour.offset : sum), 0);
      const reading: WireReading = { ts: Math.round(t + skew), seq, metrics };
      seq += 1;
      if (offline) {
        if (offline.backlog) backlog.push(reading);
      } else {
        batch.push(reading);
        batchStart ??= t;
        // A batch holds at most `batch` readings and never waits past MAX_BATCH_AGE_MS for the next one.
        if (batch.length >= device.batch || t + intervalAt(t) - batchStart > MAX_BATCH_AGE_MS) {
          const readings = batch;
          batch = [];
          batchStart = null;
          yield* send(t, readings);
        }
      }
    }
    t += Math.max(1, intervalAt(t));
  }
}
