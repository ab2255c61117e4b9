import { z } from 'zod';
import { ruleInhibitsSchema } from './inhibits.js';

/**
 * Fields every rule carries, whatever its kind. Strict, as every object of a rule file: a misspelt key
 * (`dirction: below`, a level `oragne`) is a problem of the file, not a default silently taken in its place.
 */
export const ruleBaseSchema = z.strictObject({
  /** Unique within a profile's rule set; part of the alarm key `site/device/rule`. */
  id: z.string().regex(/^[a-z0-9_]{1,64}$/, 'rule id: 1–64 of a-z 0-9 _'),
  name: z.string().optional(),
  /** The standard and clause, or "engineering default"; travels into alarm events. */
  source: z.string().min(1),
  enabled: z.boolean().default(true),
  /**
   * `false`: a condition other rules read — a group's member, `rule.<id>` in an expression — that raises no alarm of
   * its own (a safety sub-meter off feeds "safety equipment off while producing", and is no alarm at night). Its
   * verdict is judged and kept as any rule's; it never reaches the alarm list, so it inhibits and latches nothing.
   */
  alarm: z.boolean().optional(),
  /** Message template with {value} {threshold} {unit} {metric} {severity}. */
  message: z.string().optional(),
  /** The rule's name in Chinese, for `messageZh` (default: `name`). */
  name_zh: z.string().optional(),
  /** Chinese message template (same placeholders), rendered into the `messageZh` extension of alarm events. */
  message_zh: z.string().optional(),
  /**
   * The clear's message when the condition ended (its value back, the event reset) — in place of the kind's "back to
   * normal", which a burst vent panel or a work stopped for want of ventilation never is. Same placeholders, `{value}`
   * the value at the clear.
   */
  clear_message: z.string().optional(),
  clear_message_zh: z.string().optional(),
  /**
   * What the `when` guard means ("the cast", "浇铸"), for the clear when it stops holding: "…: no longer judged, the
   * cast ended" rather than the guard's expression.
   */
  when_name: z.string().min(1).optional(),
  when_name_zh: z.string().min(1).optional(),
  /**
   * What this rule's active condition explains, so those alarms are not raised beside it (inhibits.ts): silence and
   * range (sensor fault) rules inhibit the other rules of their device unless `false`.
   */
  inhibits: ruleInhibitsSchema,
});
