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
  })
  .strict();
export type Inhibits = z.infer<typeof inhibitsSchema>;

/** A rule's `inhibits` as written: the object, or `false` to turn off its kind's default. */
export const ruleInhibitsSchema = z.union([inhibitsSchema, z.literal(false)]).optional();

/** Kinds whose condition means the device's values cannot be trusted: silence (no data), range (sensor fault). */
const DEFAULT_BY_KIND: Readonly<Record<string, Inhibits>> = {
  silence: { scope: 'device' },
  range: { scope: 'device' },
};

/** What a rule inhibits while its condition holds: as written, or its kind's default; undefined for nothing. */
export function inhibitsOf(def: { kind: string; inhibits?: Inhibits | false | undefined }): Inhibits | undefined {
  if (def.inhibits === false) return undefined;
  return def.inhibits ?? DEFAULT_BY_KIND[def.kind];
}
