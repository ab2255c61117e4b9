import fc from 'fast-check';
import type { VerdictChange } from '../src/engine/verdict-change.js';
import type { Inhibits } from '../src/inhibits.js';

/** Generated verdict changes for inhibition's property tests: two sites, few devices, rules of every inhibiting shape. */
export const SITES = ['a', 'b'] as const;
/** Few devices, so that the generated steps often meet on one (two inhibitors of a device, one ending). */
export const DEVICES = ['d1', 'd2'] as const;
/** Rules of the generated changes: two plain ones and three inhibitors, one of each shape the profiles use. */
export const RULES: Record<string, Inhibits | undefined> = {
  temp_high: undefined,
  level_low: undefined,
  device_silent: { scope: 'device' },
  sensor_fault: { scope: 'device', sameMetric: true },
  power_off: { scope: 'site', rules: ['temp_high'] },
};

export interface Step {
  site: string;
  device: string;
  rule: string;
  status: 'true' | 'false' | 'pending';
  /** null: a clear that names no metric (a rule's plain "back to normal"). */
  metric: string | null;
}

export const toChange = (step: Step, at: number): VerdictChange => {
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
        ? { status: 'true', severity: 'yellow', metric: step.metric ?? 'x', value: 1, threshold: 1, unit: null, message: step.rule }
        : step.status === 'pending'
          ? { status: 'pending', dueAt: at + 10 }
          : step.metric === null
            ? { status: 'false' }
            : { status: 'false', detail: { metric: step.metric } },
    ...(inhibits ? { inhibits } : {}),
  } as VerdictChange;
};

export const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  site: fc.constantFrom(...SITES),
  device: fc.constantFrom(...DEVICES),
  rule: fc.constantFrom(...Object.keys(RULES)),
  status: fc.constantFrom('true', 'false', 'pending'),
  metric: fc.constantFrom('x', 'y', null),
});

/** What a step does after its change: nothing, save the state, or go back to the saved one (a restart). */
export type Afterwards = 'go_on' | 'save' | 'rewind';

/**
 * Steps with what each does afterwards, mostly going on. 'medium': up to about a hundred steps (fast-check's 'small'
 * stops near ten, too few for two inhibitors of one device to overlap and one of them to end).
 */
export const stepsArbitrary = fc.array(fc.tuple(stepArbitrary, fc.constantFrom<Afterwards>('go_on', 'go_on', 'go_on', 'save', 'rewind')), {
  maxLength: 120,
  size: 'medium',
});
