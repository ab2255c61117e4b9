import type { z } from 'zod';
import type { ExprEnv } from './expression/evaluate.js';
import { ownValue } from './own.js';
import type { DeviceContext, MetricValue, Reading } from './reading.js';
import type { Verdict } from './verdict.js';

/** A sensor's physical range: outside it a reading is a sensor fault. */
export interface MetricRange {
  min: number;
  max: number;
}

/** Whether `value` lies outside the sensor's physical range (none known: never). */
export const outsideRange = (range: MetricRange | null, value: number): boolean =>
  range !== null && (value < range.min || value > range.max);

/** What an evaluation may look at besides its own state. Time is always passed in, never read. */
export interface RuleContext {
  /** Evaluation time in epoch ms: the reading's time on data, the clock's on a tick. */
  now: number;
  /** When the data arrived at the gateway (`receivedAt`, else `ts`) on data; the clock's time otherwise. */
  arrivedAt: number;
  device: DeviceContext;
  /** Latest known value of every metric and derived value of the device (sample and hold). */
  latest: Readonly<Record<string, MetricValue>>;
  /** Names for expressions: latest values and `attr.` device attributes. */
  env: ExprEnv;
  /** Canonical unit of a metric of the device's profile, for messages. */
  unitOf(metric: string): string | null;
  /** Physical range of a metric of the device's profile, when known. */
  rangeOf(metric: string): MetricRange | null;
  /** The device's reporting interval (attribute `reportingIntervalMs`, else the profile's), when known. */
  reportingIntervalMs: number | null;
}

/**
 * One kind of rule (threshold, rate, silence, …). Pure: state is a small plain object the engine owns,
 * mutated in place by the kind and serialisable as JSON.
 *
 * `onReading` and `onTick` return `undefined` when nothing about the rule changed or the input does not
 * concern it; otherwise the rule's current verdict.
 */
export interface RuleKind<D extends { kind: string; id: string }, S> {
  readonly kind: D['kind'];
  readonly schema: z.ZodType<D>;
  initialState(def: D): S;
  onReading(def: D, state: S, reading: Reading, ctx: RuleContext): Verdict | undefined;
  onTick(def: D, state: S, ctx: RuleContext): Verdict | undefined;
  /** The next time `onTick` could change the verdict, or null when only data can. */
  dueAt(def: D, state: S): number | null;
  /** The device became known (registered or first seen) at `ctx.now`: arm clock-only rules. */
  onRegister?(def: D, state: S, ctx: RuleContext): Verdict | undefined;
  /** A duty officer acknowledged the rule's alarm: a latched rule lets go. */
  onAcknowledge?(def: D, state: S, ctx: RuleContext): Verdict | undefined;
  /** A reading older than one already evaluated arrived: not evaluated, but it proves the device alive. */
  onLateReading?(def: D, state: S, reading: Reading, ctx: RuleContext): Verdict | undefined;
  /**
   * The state to go on with from a snapshot's copy of it (of this snapshot version or an older one);
   * absent: the copy itself.
   */
  restoreState?(def: D, saved: unknown): S;
  /**
   * The gateway was down for `downMs` and goes on from this (restored) state: timers that wait for the device
   * or for time to pass move on by that much, so that time spent down does not count (a device cannot report
   * to a gateway that is down). Absent: the state holds no such timer.
   */
  onResume?(def: D, state: S, downMs: number): void;
  /**
   * The gateway held publishes of the device that it received from `since` on, and judged them, until `until` (its
   * lane was behind): the device was heard from until then. A timer that measures the device's silence, and was
   * last fed by those publishes (an arrival at or after `since`), counts from `until`. `connecting`: it was the
   * device's CONNECT the gateway held (admission), not publishes: every such timer of the device counts from `until`.
   * Absent: no such timer.
   */
  onHeld?(def: D, state: S, since: number, until: number, connecting: boolean): void;
}

const CLOSE = 0x7d; // }
const MESSY_SPACE = /\s\s|[^\S ]/;

/** `\w`: A–Z a–z 0–9 _ */
const isWordChar = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;

/** Fills `{value}`, `{threshold}`, `{unit}`, `{metric}`, `{severity}` placeholders of a message template. */
export function renderMessage(template: string, fields: Record<string, string | number | boolean | null>): string {
  // a scan instead of String.replace with a callback: this runs for every verdict change
  let out = '';
  let from = 0;
  let i = template.indexOf('{');
  while (i >= 0) {
    let j = i + 1;
    while (j < template.length && isWordChar(template.charCodeAt(j))) j += 1;
    if (j > i + 1 && template.charCodeAt(j) === CLOSE) {
      const value = ownValue(fields, template.slice(i + 1, j));
      if (value !== undefined && value !== null) {
        out += template.slice(from, i) + (typeof value === 'number' ? String(displayNumber(value)) : String(value));
        from = j + 1;
      }
      i = template.indexOf('{', j + 1);
    } else {
      i = template.indexOf('{', i + 1);
    }
  }
  out += template.slice(from);
  // collapse runs of white space (only when there are any: the common message has none)
  if (MESSY_SPACE.test(out)) out = out.replace(/\s+/g, ' ');
  return out.trim();
}

/**
 * A number as a message shows it, to be read at a glance: three significant digits (40.6 %, 5.8 mm/h, 0.0812 MPa),
 * whole numbers as they are, and at least the units of a larger value with one decimal (a pond at 1202.1 m). The
 * event's `value` and `threshold` keep their precision (`roundForMessage`).
 */
export function displayNumber(value: number): number {
  if (Number.isInteger(value) || !Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value * 10) / 10;
  return Number(value.toPrecision(3));
}

/** Values of an event (its `value`, `threshold`): at most 6 significant digits, no float noise (0.7 × 0.2 is 0.14). */
export function roundForMessage(value: number): number {
  if (Number.isInteger(value)) return value;
  return Math.abs(value) >= 1000 ? Math.round(value * 100) / 100 : Number(value.toPrecision(6));
}
