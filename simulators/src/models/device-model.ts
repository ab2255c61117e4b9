import type { MetricValue } from '../../../rules/src/index.js';
import type { Rng } from '../random/prng.js';

export type Metrics = Record<string, MetricValue>;
export type ParamValue = number | string | boolean;
export type Params = Readonly<Record<string, ParamValue>>;

/** A physical event a scenario starts (and maybe stops) on a device: a pump trip, a rainstorm, a stopped fan. */
export interface ActiveEvent {
  name: string;
  /** When it started, epoch ms (virtual time). */
  since: number;
  params: Params;
}

export interface ModelInput {
  /** The device's own random stream. */
  rng: Rng;
  /** The device's registry attributes (set-points, design values). */
  attributes: Readonly<Record<string, MetricValue>>;
  /** Model knobs from the scenario (`model:` of a device). */
  params: Params;
  /** Virtual start of the run, epoch ms. */
  start: number;
}

/** One report: canonical metrics, plus the units the device uses where they are not the canonical ones. */
export interface Report {
  metrics: Metrics;
  units?: Record<string, string>;
}

/**
 * The plant and its sensors behind one device. `read` is called once per report, with increasing `t`; it
 * advances the physics to `t` under the events active now and returns what the sensors say (noise,
 * resolution), or null when the device sends nothing (no power at night, say). Deterministic: same rng,
 * times and events give the same reports.
 */
export interface DeviceModel {
  read(t: number, events: readonly ActiveEvent[]): Report | null;
  /** Time until the next report after one at `t` (reporting often changes with the plant's state). */
  intervalMs(t: number): number;
}

export interface ModelDefinition {
  profile: string;
  /** Reporting interval of a device in its normal state. */
  defaultIntervalMs: number;
  /** Report on wall-clock multiples of the interval (15-min power averages), rather than a random phase. */
  aligned?: boolean;
  /** Physical events the model understands, with a line about each: scenarios are checked against this. */
  events: Readonly<Record<string, string>>;
  /**
   * The attributes a generated registry gives each device (`simulate fleet`): those its profile requires, at the
   * values the model assumes without them. Absent: none needed.
   */
  registryAttributes?: Readonly<Record<string, MetricValue>>;
  create(input: ModelInput): DeviceModel;
}

export const hasEvent = (events: readonly ActiveEvent[], name: string): ActiveEvent | undefined => events.find((e) => e.name === name);

export function numberParam(params: Params, name: string, fallback: number): number {
  const value = params[name];
  return typeof value === 'number' ? value : fallback;
}

export function numberAttribute(attributes: Readonly<Record<string, MetricValue>>, name: string, fallback: number): number {
  const value = attributes[name];
  return typeof value === 'number' ? value : fallback;
}
