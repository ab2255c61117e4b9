import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../../test-support/harness.js';
import { initialLevelState, levelStateFrom } from './leveled.js';
import { type ThresholdRule, thresholdKind } from './threshold.js';

describe('level state restored from a snapshot', () => {
  it('takes the fields it knows, of the right type, and leaves the rest as a fresh state', () => {
    const saved = {
      level: 'yellow',
      target: 'red',
      pendingSince: 5,
      pendingUp: true,
      latched: 'orange',
      clockAt: 7,
      since: [1, 2, 'x', null],
    };
    expect(levelStateFrom(saved)).toEqual({
      level: 'yellow',
      target: 'red',
      pendingSince: 5,
      pendingUp: true,
      latched: 'orange',
      clockAt: 7,
      since: [1, 2, null, null],
    });
    const odd = { level: 'purple', target: 3, pendingSince: '5', pendingUp: 'yes', latched: 'x', clockAt: '7', since: [1, 2] };
    expect(levelStateFrom(odd)).toEqual(initialLevelState());
    expect(levelStateFrom(null)).toEqual(initialLevelState());
  });

  it('an older snapshot’s one onset for an upward move starts every level above the committed one up to the target', () => {
    expect(levelStateFrom({ level: 'blue', target: 'orange', pendingSince: 5, pendingUp: true }).since).toEqual([null, 5, 5, null]);
    expect(levelStateFrom({ level: null, target: 'red', pendingSince: 5, pendingUp: true }).since).toEqual([5, 5, 5, 5]);
    // a move down, or none pending, has no onsets
    expect(levelStateFrom({ level: 'red', target: 'blue', pendingSince: 5, pendingUp: false }).since).toEqual([null, null, null, null]);
    expect(levelStateFrom({ level: null, target: 'red', pendingSince: null, pendingUp: true }).since).toEqual([null, null, null, null]);
  });

  it('a threshold rule restored from a version 1 state escalates when the on-delay from that onset ends', () => {
    const def = ruleSetFromYaml(
      'profile: p\nrules:\n  - { id: t, kind: threshold, metric: x, onDelay: 1m, levels: { yellow: { raise: 50 }, red: { raise: 90 } }, source: t }\n',
    )
      .get('p')
      ?.at(0) as ThresholdRule;
    const state = thresholdKind.restoreState?.(def, { level: null, target: 'red', pendingSince: 1000, pendingUp: true, value: 95 });
    if (!state) throw new Error('threshold rules restore their state');
    expect(state).toMatchObject({ value: 95, lv: { level: null, target: 'red', since: [1000, 1000, 1000, 1000] } });
    expect(thresholdKind.dueAt(def, state)).toBe(61_000);
  });
});
