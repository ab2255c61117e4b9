import type { AlarmTransition } from './alarm.js';
import { type AlarmBook, resolveRefusal } from './alarm-book.js';
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
   * One change; `newerAt`: where the batch brings each key's last state (its last change that is not pending). A
   * latent change released here is applied unless the batch brings a newer state of its key after this change (a
   * sensor back from its fault, reading normal).
   */
  const applyOne = (change: VerdictChange, index = 0, newerAt?: ReadonlyMap<string, number>): AlarmTransition[] => {
    const { held, released } = inhibition.observe(change);
    const steps: AlarmTransition[] = held ? [] : core.apply(change);
    for (const latent of released) if ((newerAt?.get(latent.key) ?? -1) <= index) steps.push(...core.apply(latent));
    return shelving.hold(steps);
  };
  return {
    ...core,
    apply: (change) => applyOne(change),
    applyAll(changes) {
      const ordered = inhibitorsFirst(changes);
      const lastStateAt = new Map<string, number>();
      for (const [index, change] of ordered.entries()) if (change.verdict.status !== 'pending') lastStateAt.set(change.key, index);
      return ordered.flatMap((change, index) => applyOne(change, index, lastStateAt));
    },
    tick(now) {
      // shelves that end (or begin) by now first: a window that ends at the deadline sends its alarm's raise before the
      // overdue — the other way round the overdue went out unheld and the window's end took it for what consumers had
      // seen, so the raise never went out
      const steps = shelving.tick(now);
      steps.push(...shelving.hold(core.tick(now)));
      return steps;
    },
    resolve(id, by, note, at, disposal, occurrence) {
      // what a shelf held of its lateness goes out first, if the resolve will be taken
      const before = resolveRefusal(core.get(id), occurrence) === null ? shelving.resolving(id, at) : [];
      const result = core.resolve(id, by, note, at, disposal, occurrence);
      if (!result.ok) return result;
      shelving.resolved(id, by, at);
      return before.length > 0 ? { ...result, before } : result;
    },
    nextDueAt: () => earliest(core.nextDueAt(), shelving.nextDueAt()),
    forgetSites(sites) {
      const gone = new Set(sites);
      core.forgetSites(gone);
      shelving.forgetSites(gone);
      inhibition.forgetSites(gone);
    },
    adopt(part) {
      core.adopt(part);
      shelving.adopt(part.shelves ?? []);
      if (part.inhibition) inhibition.adopt(part.inhibition);
    },
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
