import { type Inhibits, inhibitsOf } from '../inhibits.js';

/** The `inhibits` field of a rule's verdict change: present only for a rule that inhibits something. */
export function withInhibits(def: { kind: string; inhibits?: Inhibits | false | undefined; metric?: unknown }): { inhibits?: Inhibits } {
  const inhibits = inhibitsOf(def);
  return inhibits ? { inhibits } : {};
}
