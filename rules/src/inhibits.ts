import { z } from 'zod';

/**
 * What a rule's active condition explains, so the alarms it covers are not raised beside it (ISA-18.2 designed
 * suppression): `device` — the other rules of the same device; `site` — the rules of every device of the site.
 * `rules` and `profiles` narrow it; without `rules` it never covers another rule that inhibits (a silent device's
 * silence alarm still goes out), with `rules` it covers exactly those.
 */
export const inhibitsSchema = z
  .object({
    scope: z.enum(['device', 'site']),
    rules: z
      .array(z.string().regex(/^[a-z0-9_]{1,64}$/, 'rule id: 1–64 of a-z 0-9 _'))
      .min(1)
      .optional(),
    profiles: z.array(z.string().min(1)).min(1).optional(),
    /** Only the rules whose verdict is about the metric the inhibitor's verdict names (the faulty sensor's). */
    sameMetric: z.boolean().optional(),
  })
  .strict();
export type Inhibits = z.infer<typeof inhibitsSchema>;

/** A rule's `inhibits` as written: the object, or `false` to turn off its kind's default. */
export const ruleInhibitsSchema = z.union([inhibitsSchema, z.literal(false)]).optional();

/**
 * What a rule inhibits while its condition holds: as written, or its kind's default — a silence rule watching the
 * whole device (no `metric`: nothing can be judged) its device's other rules, a range rule (a value outside the
 * sensor's range) the rules about that sensor's metric. A silence rule of one metric inhibits nothing by default
 * (a stale sensor may be exactly what another rule, an interlock's permissive, raises on). Undefined for nothing.
 */
export function inhibitsOf(def: { kind: string; inhibits?: Inhibits | false | undefined; metric?: unknown }): Inhibits | undefined {
  if (def.inhibits === false) return undefined;
  if (def.inhibits) return def.inhibits;
  if (def.kind === 'silence' && def.metric === undefined) return { scope: 'device' };
  if (def.kind === 'range') return { scope: 'device', sameMetric: true };
  return undefined;
}
