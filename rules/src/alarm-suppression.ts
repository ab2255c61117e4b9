import type { AlarmTransition } from './alarm.js';
import type { AlarmBook } from './alarm-book.js';
import type { Shelving } from './alarm-shelving.js';
import type { Inhibition } from './inhibition.js';

/** The alarm book without its suppression layers (shelving and inhibition). */
export type AlarmBookCore = Omit<AlarmBook, 'shelving' | 'inhibition'>;

const earliest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/**
 * Puts the suppression layers around the alarm lifecycle: a verdict change first passes inhibition (held, or
 * applied together with the latent changes it releases); every transition then passes shelving (marked `held`
 * while a shelf covers it); the clock also begins and ends shelves. Their state travels in the book's snapshot.
 */
export function withSuppression(core: AlarmBookCore, shelving: Shelving, inhibition: Inhibition): AlarmBook {
  return {
    ...core,
    apply(change) {
      const { held, released } = inhibition.observe(change);
      const steps: AlarmTransition[] = held ? [] : core.apply(change);
      for (const latent of released) steps.push(...core.apply(latent));
      return shelving.hold(steps);
    },
    tick(now) {
      const steps = shelving.hold(core.tick(now));
      steps.push(...shelving.tick(now));
      return steps;
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
