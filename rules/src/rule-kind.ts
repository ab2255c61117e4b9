import type { z } from 'zod';
import type { DeviceContext, MetricValue, Reading } from './reading.js';
import type { Verdict } from './verdict.js';

/** What an evaluation may look at besides its own state. Time is always passed in, never read. */
export interface RuleContext {
  /** Evaluation time in epoch ms: the reading's time on data, the clock's on a tick. */
  now: number;
  device: DeviceContext;
  /** Latest known value of every metric of the device (sample and hold). */
  latest: Readonly<Record<string, MetricValue>>;
  /** Canonical unit of a metric of the device's profile, for messages. */
  unitOf(metric: string): string | null;
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
}

/** Fills `{value}`, `{threshold}`, `{unit}`, `{metric}`, `{severity}` placeholders of a message template. */
export function renderMessage(template: string, fields: Record<string, string | number | null>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = fields[name];
    return value === undefined || value === null ? whole : String(value);
  });
}
