import type { AlarmTransition } from './alarm.js';
import type { AlarmBook } from './alarm-book.js';
import type { Shelving } from './alarm-shelving.js';
import type { VerdictChange } from './engine/verdict-change.js';
import { type Inhibition, inhibitorsFirst } from './inhibition.js';

/** The alarm book without its suppression layers (shelving and inhibition). */
export type AlarmBookCore = Omit<AlarmBook, 'shelving' | 'inhibition' | 'applyAll'>;

const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Puts the suppression layers around the alarm lifecycle: a verdict change first passes inhibition (held, or
 * applied together with the latent changes it releases); every transition then passes shelving (marked `held`
 * while a shelf covers it); the clock also begins and ends shelves. Their state travels in the book's snapshot.
 */
export function withSuppression(core: AlarmBookCore, shelving: Shelving, inhibition: Inhibition): AlarmBook {
  /**
   * One change; `later`: the changes after it in its batch. A latent change released here is applied unless a later
   * change of the same key in the batch brings a newer state (a sensor back from its fault, reading normal).
   */
  const applyOne = (change: VerdictChange, later: readonly VerdictChange[]): AlarmTransition[] => {
    const { held, released } = inhibition.observe(change);
    const steps: AlarmTransition[] = held ? [] : core.apply(change);
    for (const latent of released)
      if (!later.some((next) => next.key === latent.key && next.verdict.status !== 'pending')) steps.push(...core.apply(latent));
    return shelving.hold(steps);
  };
  return {
    ...core,
    apply: (change) => applyOne(change, []),
    applyAll(changes) {
      const ordered = inhibitorsFirst(changes);
      return ordered.flatMap((change, index) => applyOne(change, ordered.slice(index + 1)));
    },
    tick(now) {
      const steps = shelving.hold(core.tick(now));
      steps.push(...shelving.tick(now));
      return steps;
    },
    resolve(id, by, note, at, disposal) {
      const result = core.resolve(id, by, note, at, disposal);
      if (result.ok) shelving.resolved(id, by, at);
      return result;
    },
    nextDueAt: () => earliest(core.nextDueAt(), shelving.nextDueAt()),
    snapshot: () => ({ ...core.snapshot(), shelves: shelving.snapshot(), inhibition: inhibition.snapshot() }),
    restore(snapshot) {
      core.restore(snapshot);
      shelving.restore(snapshot.shelves);
      inhibition.restore(snapshot.inhibition);
    },
    shelving,
    inhibition,
  };
}
