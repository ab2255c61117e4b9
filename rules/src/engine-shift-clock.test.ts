import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';

const MIN = 60_000;

/** A device with a silence ladder, a threshold held 2 min, and a site group of the threshold held 2 min more. */
const RULES = `
profile: p
rules:
  - id: silent
    kind: silence
    ladder:
      - { after: 5m, severity: yellow }
    source: test
  - id: hot
    kind: threshold
    metric: t
    levels: { orange: { raise: 80, clear: 70 } }
    onDelay: 2m
    source: test
`;

describe('the host clock stepped (shiftClock): no time passed for the rules', () => {
  it('a step forward raises no silence and ends no on-delay; each fires when its own time has really passed', () => {
    const stepped = harness(RULES);
    stepped.read(0, { t: 90 }); // hot pending until 2 min, silent from 5 min
    stepped.engine.shiftClock(60 * MIN); // at 1 min, the clock jumps an hour ahead
    stepped.advanceTo(61 * MIN + 59_000); // 1 min 59 s of real time since the reading
    expect([stepped.state('hot'), stepped.state('silent')]).toEqual(['pending', 'false']);
    stepped.advanceTo(62 * MIN);
    expect(stepped.state('hot')).toBe('orange');
    stepped.advanceTo(64 * MIN + 59_000);
    expect(stepped.state('silent')).toBe('false');
    stepped.advanceTo(65 * MIN);
    expect(stepped.state('silent')).toBe('yellow');

    // without it, the hour jumped would be an hour of silence and of the condition held
    const unaware = harness(RULES);
    unaware.read(0, { t: 90 });
    unaware.advanceTo(61 * MIN);
    expect([unaware.state('hot'), unaware.state('silent')]).toEqual(['orange', 'yellow']);
  });

  it('a step back does not hold a silence or an on-delay back by the step', () => {
    const h = harness(RULES);
    h.read(0, { t: 90 });
    h.engine.shiftClock(-60 * MIN); // at 1 min the clock is set an hour back: it reads -59 min
    h.advanceTo(-58 * MIN);
    expect(h.state('hot')).toBe('orange'); // 2 min of real time
    h.advanceTo(-55 * MIN);
    expect(h.state('silent')).toBe('yellow'); // 5 min of real time
  });

  it("a site group's own on-delay moves with the clock too", () => {
    const rules = `
profile: p
rules:
  - { id: hot, kind: threshold, metric: t, levels: { orange: { raise: 80, clear: 70 } }, source: test }
  - { id: plant_hot, kind: group, members: { rules: [hot] }, require: any, severity: red, onDelay: 2m, source: test }
`;
    const h = harness(rules);
    h.read(0, { t: 90 }); // hot at once; the group pending until 2 min
    expect(h.state('plant_hot')).toBe('pending');
    h.engine.shiftClock(60 * MIN);
    h.advanceTo(61 * MIN + 59_000);
    expect(h.state('plant_hot')).toBe('pending');
    h.advanceTo(62 * MIN);
    expect(h.state('plant_hot')).toBe('red');
  });

  it('saves every device again (its timers moved)', () => {
    const h = harness(RULES);
    h.read(0, { t: 20 });
    h.engine.takeChanged();
    expect(h.engine.takeChanged().devices).toEqual([]);
    h.engine.shiftClock(10 * MIN);
    expect(h.engine.takeChanged().devices.map((d) => d.key)).toEqual(['s/d']);
  });
});
