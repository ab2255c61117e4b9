import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VerdictChange } from './engine/verdict-change.js';
import { createInhibition, type Inhibitor } from './inhibition.js';
import type { Inhibits } from './inhibits.js';

const SITES = ['a', 'b'] as const;
/** Few devices, so that the generated steps often meet on one (two inhibitors of a device, one ending). */
const DEVICES = ['d1', 'd2'] as const;
/** Rules of the generated changes: two plain ones and three inhibitors, one of each shape the profiles use. */
const RULES: Record<string, Inhibits | undefined> = {
  temp_high: undefined,
  level_low: undefined,
  device_silent: { scope: 'device' },
  sensor_fault: { scope: 'device', sameMetric: true },
  power_off: { scope: 'site', rules: ['temp_high'] },
};

interface Step {
  site: string;
  device: string;
  rule: string;
  status: 'true' | 'false' | 'pending';
  metric: string;
}

const toChange = (step: Step, at: number): VerdictChange => {
  const inhibits = RULES[step.rule];
  return {
    key: `${step.site}/${step.device}/${step.rule}`,
    site: step.site,
    device: step.device,
    profile: 'p',
    rule: step.rule,
    source: 'test',
    at,
    verdict:
      step.status === 'true'
        ? { status: 'true', severity: 'yellow', metric: step.metric, value: 1, threshold: 1, unit: null, message: step.rule }
        : step.status === 'pending'
          ? { status: 'pending', dueAt: at + 10 }
          : { status: 'false', detail: { metric: step.metric } },
    ...(inhibits ? { inhibits } : {}),
  } as VerdictChange;
};

/**
 * The meaning of inhibition written the plain way: every change compared with every inhibitor, in the order they
 * were set (the first that covers it holds it), and an inhibitor that ends or changes looks again at every latent
 * change.
 */
function plainInhibition() {
  const inhibitors = new Map<string, Inhibitor>();
  const latent = new Map<string, VerdictChange>();
  const metricOf = (change: VerdictChange, before: VerdictChange | undefined): string | null => {
    if (change.verdict.status === 'true') return change.verdict.metric;
    if (change.verdict.status === 'false' && change.verdict.detail?.metric) return change.verdict.detail.metric;
    return before?.verdict.status === 'true' ? before.verdict.metric : null;
  };
  const covers = (i: Inhibitor, change: VerdictChange): boolean => {
    if (i.key === change.key || i.site !== change.site) return false;
    if (i.inhibits.scope === 'device' && i.device !== change.device) return false;
    if (i.inhibits.sameMetric && (i.metric == null || metricOf(change, latent.get(change.key)) !== i.metric)) return false;
    return i.inhibits.rules ? i.inhibits.rules.includes(change.rule) : change.inhibits === undefined;
  };
  const coveringOf = (change: VerdictChange) => [...inhibitors.values()].find((i) => covers(i, change));
  const recheck = (at: number): VerdictChange[] => {
    const released: VerdictChange[] = [];
    for (const [key, waiting] of latent) {
      if (coveringOf(waiting)) continue;
      latent.delete(key);
      released.push({ ...waiting, at });
    }
    return released;
  };
  return {
    observe(change: VerdictChange) {
      if (change.verdict.status === 'pending') return { held: latent.has(change.key) && coveringOf(change) !== undefined, released: [] };
      let released: VerdictChange[] = [];
      if (change.verdict.status === 'true' && change.inhibits) {
        const was = inhibitors.get(change.key);
        const { key, site, device, profile, rule, inhibits } = change;
        inhibitors.set(key, { key, site, device, profile, rule, inhibits, metric: change.verdict.metric, since: was?.since ?? change.at });
        if (was) released = recheck(change.at);
      } else if (inhibitors.delete(change.key)) released = recheck(change.at);
      const by = coveringOf(change);
      if (!by) {
        latent.delete(change.key);
        return { held: false, released };
      }
      latent.set(change.key, change);
      return { held: true, released };
    },
    held: () => [...latent.entries()].map(([key, change]) => ({ key, inhibitedBy: coveringOf(change)?.key ?? '' })),
  };
}

const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  site: fc.constantFrom(...SITES),
  device: fc.constantFrom(...DEVICES),
  rule: fc.constantFrom(...Object.keys(RULES)),
  status: fc.constantFrom('true', 'false', 'pending'),
  metric: fc.constantFrom('x', 'y'),
});

describe('inhibition at the scale of a fleet', () => {
  it('holds and releases exactly what the plain reading of its rules does, through snapshots and restores', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(stepArbitrary, fc.boolean()), { maxLength: 120 }), (steps) => {
        let indexed = createInhibition();
        const plain = plainInhibition();
        for (const [at, [step, restart]] of steps.entries()) {
          const change = toChange(step, at);
          const got = indexed.observe(change);
          const want = plain.observe(change);
          expect(got.held).toBe(want.held);
          expect(got.released.map((c) => [c.key, c.at])).toEqual(want.released.map((c) => [c.key, c.at]));
          expect(indexed.held().map(({ key, inhibitedBy }) => ({ key, inhibitedBy }))).toEqual(plain.held());
          if (restart) {
            const snapshot = indexed.snapshot();
            indexed = createInhibition();
            indexed.restore(snapshot);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('judges a change against its own device and site only: a plant of silent devices costs each change no more than one', () => {
    // every device of a plant of 2,000 silent (a network outage): each its own inhibitor, whose `inhibits` counts
    // how often it is looked at
    let looks = 0;
    const counted = (): Inhibits =>
      ({
        get scope() {
          looks += 1;
          return 'device';
        },
      }) as Inhibits;
    const inhibition = createInhibition();
    const device = (i: number) => ({ site: 'plant', device: `m${i}` });
    const silent = (i: number, on: boolean, at: number): VerdictChange => ({
      ...toChange({ ...device(i), rule: 'device_silent', status: on ? 'true' : 'false', metric: 'x' }, at),
      inhibits: counted(),
    });
    for (let i = 0; i < 2_000; i += 1) inhibition.observe(silent(i, true, 1));
    for (let i = 0; i < 2_000; i += 1) inhibition.observe(toChange({ ...device(i), rule: 'temp_high', status: 'true', metric: 'x' }, 2));
    looks = 0;
    // one more value alarm of the last device, held by that device's silence
    expect(inhibition.observe(toChange({ ...device(1_999), rule: 'level_low', status: 'true', metric: 'x' }, 3)).held).toBe(true);
    expect(looks).toBeLessThanOrEqual(2);
    looks = 0;
    // that device back: its silence ends and releases its own held changes, nothing of the 1,999 others
    const back = inhibition.observe(silent(1_999, false, 4));
    expect(back.released.map((c) => c.key).sort()).toEqual(['plant/m1999/level_low', 'plant/m1999/temp_high']);
    expect(looks).toBeLessThanOrEqual(4);
    expect(inhibition.held()).toHaveLength(1_999);
  });
});
