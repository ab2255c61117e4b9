import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stepsArbitrary, toChange } from '../test-support/inhibition-steps.js';
import type { VerdictChange } from './engine/verdict-change.js';
import { createInhibition, type Inhibitor } from './inhibition.js';
import type { Inhibits } from './inhibits.js';

/**
 * The meaning of inhibition written the plain way: every change compared with every inhibitor, in the order they
 * were set (the first that covers it holds it); an inhibitor that ends or changes looks again at every held change.
 * A change is about the metric it names; a clear that names none, about the metric of its key's held state.
 */
function plainInhibition() {
  let inhibitors = new Map<string, Inhibitor>();
  let latent = new Map<string, { change: VerdictChange; metric: string | null }>();
  const named = (change: VerdictChange): string | null =>
    change.verdict.status === 'true'
      ? change.verdict.metric
      : change.verdict.status === 'false'
        ? (change.verdict.detail?.metric ?? null)
        : null;
  const metricOf = (change: VerdictChange): string | null => named(change) ?? latent.get(change.key)?.metric ?? null;
  const covers = (i: Inhibitor, change: VerdictChange, metric: string | null): boolean => {
    if (i.key === change.key || i.site !== change.site) return false;
    if (i.inhibits.scope === 'device' && i.device !== change.device) return false;
    if (i.inhibits.sameMetric && (i.metric == null || metric !== i.metric)) return false;
    return i.inhibits.rules ? i.inhibits.rules.includes(change.rule) : change.inhibits === undefined;
  };
  const coveringOf = (change: VerdictChange, metric: string | null) => [...inhibitors.values()].find((i) => covers(i, change, metric));
  const recheck = (at: number): VerdictChange[] => {
    const released: VerdictChange[] = [];
    for (const [key, held] of latent) {
      if (coveringOf(held.change, held.metric)) continue;
      latent.delete(key);
      released.push({ ...held.change, at });
    }
    return released;
  };
  return {
    observe(change: VerdictChange) {
      if (change.verdict.status === 'pending')
        return { held: latent.has(change.key) && coveringOf(change, metricOf(change)) !== undefined, released: [] };
      let released: VerdictChange[] = [];
      if (change.verdict.status === 'true' && change.inhibits) {
        const was = inhibitors.get(change.key);
        const { key, site, device, profile, rule, inhibits } = change;
        inhibitors.set(key, { key, site, device, profile, rule, inhibits, metric: change.verdict.metric, since: was?.since ?? change.at });
        if (was) released = recheck(change.at);
      } else if (inhibitors.delete(change.key)) released = recheck(change.at);
      const metric = metricOf(change);
      if (!coveringOf(change, metric)) {
        latent.delete(change.key);
        return { held: false, released };
      }
      latent.set(change.key, { change, metric });
      return { held: true, released };
    },
    held: () => [...latent.entries()].map(([key, held]) => ({ key, inhibitedBy: coveringOf(held.change, held.metric)?.key ?? '' })),
    save: () => ({ inhibitors: new Map(inhibitors), latent: new Map(latent) }),
    rewind(saved: { inhibitors: Map<string, Inhibitor>; latent: Map<string, { change: VerdictChange; metric: string | null }> }) {
      inhibitors = new Map(saved.inhibitors);
      latent = new Map(saved.latent);
    },
  };
}

describe('inhibition at the scale of a fleet', () => {
  it('holds and releases exactly what the plain reading of its rules does, through snapshots and restores', () => {
    fc.assert(
      fc.property(stepsArbitrary, (steps) => {
        let indexed = createInhibition();
        const plain = plainInhibition();
        let saved: { snapshot: ReturnType<typeof indexed.snapshot>; plain: ReturnType<typeof plain.save> } | null = null;
        for (const [at, [step, afterwards]] of steps.entries()) {
          const change = toChange(step, at);
          const got = indexed.observe(change);
          const want = plain.observe(change);
          expect(got.held).toBe(want.held);
          expect(got.released.map((c) => [c.key, c.at])).toEqual(want.released.map((c) => [c.key, c.at]));
          expect(indexed.held().map(({ key, inhibitedBy }) => ({ key, inhibitedBy }))).toEqual(plain.held());
          if (afterwards === 'save') {
            // a restart: the snapshot restored into a fresh instance, which goes on from it
            saved = { snapshot: indexed.snapshot(), plain: plain.save() };
            indexed = createInhibition();
            indexed.restore(saved.snapshot);
          } else if (afterwards === 'rewind' && saved) {
            // an older state restored into the instance in use (what it held since must be gone)
            indexed.restore(saved.snapshot);
            plain.rewind(saved.plain);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('judges a change against its own device and site only: a plant of silent devices costs each change no more than one', () => {
    // every device of a plant of 2,000 silent (a network outage): each its own inhibitor, whose `inhibits` counts
    // every look at it
    let looks = 0;
    const counted = (): Inhibits =>
      new Proxy({ scope: 'device' } as Inhibits, {
        get(target, name) {
          looks += 1;
          return target[name as keyof Inhibits];
        },
      });
    const inhibition = createInhibition();
    const device = (i: number) => ({ site: 'plant', device: `m${i}` });
    const silent = (i: number, on: boolean, at: number): VerdictChange => ({
      ...toChange({ ...device(i), rule: 'device_silent', status: on ? 'true' : 'false', metric: 'x' }, at),
      inhibits: counted(),
    });
    for (let i = 0; i < 2_000; i += 1) inhibition.observe(silent(i, true, 1));
    for (let i = 0; i < 2_000; i += 1) inhibition.observe(toChange({ ...device(i), rule: 'temp_high', status: 'true', metric: 'x' }, 2));
    looks = 0;
    // one more value alarm of the last device, held by that device's silence: one inhibitor looked at (its rules,
    // profiles and sameMetric), not the plant's 2,000
    expect(inhibition.observe(toChange({ ...device(1_999), rule: 'level_low', status: 'true', metric: 'x' }, 3)).held).toBe(true);
    expect(looks).toBeGreaterThan(0);
    expect(looks).toBeLessThanOrEqual(5);
    looks = 0;
    // that device back: its silence ends and releases its own held changes, nothing of the 1,999 others
    const back = inhibition.observe(silent(1_999, false, 4));
    expect(back.released.map((c) => c.key).sort()).toEqual(['plant/m1999/level_low', 'plant/m1999/temp_high']);
    expect(looks).toBeLessThanOrEqual(10);
    expect(inhibition.held()).toHaveLength(1_999);
  });
});
