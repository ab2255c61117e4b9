import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

const interlock = `
profile: p
rules:
  - id: interlock
    kind: expect
    trigger: "casting_active and cooling_pressure < 0.7 * attr.setpoint"
    expect:
      - "quick_shutoff == 'closed'"
      - "emergency_drain == 'open'"
      - "tilt_back or launder_disconnect == 'disconnected'"
    within: 3s
    source: test
`;
const normal = {
  casting_active: true,
  cooling_pressure: 0.2,
  quick_shutoff: 'open',
  emergency_drain: 'closed',
  tilt_back: false,
  launder_disconnect: 'engaged',
};

describe('expect (interlock verification)', () => {
  it('is satisfied when the valves act within T', () => {
    const h = harness(interlock, { attributes: { setpoint: 0.2 } });
    h.read(0, normal);
    h.read(1000, { cooling_pressure: 0.05 });
    expect(h.state('interlock')).toBe('pending');
    h.read(2000, { quick_shutoff: 'closed', emergency_drain: 'open', tilt_back: true });
    expect(h.state('interlock')).toBe('false');
    h.advanceTo(10_000);
    expect(h.changes.filter((c) => c.verdict.status === 'true')).toHaveLength(0);
  });

  it("a device clock running slow does not fail an interlock whose valves close at once: the gateway's clock waits from the trip's arrival", () => {
    const h = harness(interlock, { attributes: { setpoint: 0.2 } });
    const SLOW = 10_000;
    // readings stamped 10 s behind the gateway's clock, each arriving at once
    h.read(100_000 - SLOW, normal, 100_000);
    h.read(101_000 - SLOW, { cooling_pressure: 0.05 }, 101_000);
    expect(h.state('interlock')).toBe('pending');
    h.tick(101_000);
    h.read(101_200 - SLOW, { quick_shutoff: 'closed', emergency_drain: 'open', tilt_back: true }, 101_200);
    h.advanceTo(120_000);
    expect(h.changes.filter((c) => c.verdict.status === 'true')).toEqual([]);
    // and without the valves, it fails 3 s after the trip arrived
    const failing = harness(interlock, { attributes: { setpoint: 0.2 } });
    failing.read(100_000 - SLOW, normal, 100_000);
    failing.read(101_000 - SLOW, { cooling_pressure: 0.05 }, 101_000);
    expect(failing.tick(103_999)).toEqual([]);
    expect(failing.tick(104_000).map((c) => c.verdict.status)).toEqual(['true']);
  });

  it("a backlog is judged on the device's time: the reading past the deadline with the valves still open fails it", () => {
    const h = harness(interlock, { attributes: { setpoint: 0.2 } });
    const LATE = 3_600_000;
    h.read(0, normal, LATE);
    h.read(1000, { cooling_pressure: 0.05 }, LATE);
    h.read(2000, {}, LATE);
    expect(h.state('interlock')).toBe('pending');
    h.read(4000, {}, LATE);
    expect(h.state('interlock')).toBe('red');
    // valves reported closed only after the deadline did not close within it, backlog or live (2 s late on the wire)
    for (const arrival of [LATE, 0]) {
      const late = harness(interlock, { attributes: { setpoint: 0.2 } });
      late.read(0, normal, arrival);
      late.read(1000, { cooling_pressure: 0.05 }, arrival + 1000);
      late.read(2000, {}, arrival + 2000);
      late.read(4200, { quick_shutoff: 'closed', emergency_drain: 'open', tilt_back: true }, arrival + 5000);
      expect(late.state('interlock')).toBe('red');
      // the next reading that shows them closed clears it (the alarm stays open for the duty officer)
      late.read(5200, { quick_shutoff: 'closed' }, arrival + 6000);
      expect(late.state('interlock')).toBe('false');
    }
  });

  it('raises a separate red alarm from the clock when they do not, naming what was missing', () => {
    const h = harness(interlock, { attributes: { setpoint: 0.2 } });
    h.read(0, normal);
    h.read(1000, { cooling_pressure: 0.05 });
    h.read(2000, { quick_shutoff: 'closed' });
    h.advanceTo(4000);
    expect(h.state('interlock')).toBe('red');
    const v = h.last('interlock');
    expect(v?.status === 'true' && v.message).toMatch(/emergency_drain == 'open'/);
    expect(v?.status === 'true' && v.message).not.toMatch(/quick_shutoff/);
    h.read(5000, { emergency_drain: 'open', launder_disconnect: 'disconnected' });
    expect(h.state('interlock')).toBe('false');
  });

  it('reacts to the rising edge only: a trigger that stays true does not re-arm', () => {
    const h = harness(interlock, { attributes: { setpoint: 0.2 } });
    h.read(0, { ...normal, cooling_pressure: 0.05, quick_shutoff: 'closed', emergency_drain: 'open', tilt_back: true });
    h.read(1000, { quick_shutoff: 'open' });
    h.advanceTo(10_000);
    expect(h.state('interlock')).toBe('false');
  });
});

describe('expect with reset', () => {
  const yaml = `
profile: p
rules:
  - { id: check, kind: expect, trigger: "active and drop", expect: ["valve == 'closed'"], within: 3s, reset: "not active", source: t }
  - { id: plain, kind: expect, trigger: "active and drop", expect: ["valve == 'closed'"], within: 3s, source: t }
`;
  it('a short trigger still runs the check to its deadline, and the failure stays until the reset holds', () => {
    const h = harness(yaml);
    h.read(0, { active: true, drop: false, valve: 'open' });
    h.read(1000, { drop: true });
    h.read(2000, { drop: false });
    expect([h.state('check'), h.state('plain')]).toEqual(['pending', 'false']);
    h.advanceTo(4000);
    h.read(5000, { drop: false });
    expect([h.state('check'), h.state('plain')]).toEqual(['red', 'false']);
    h.read(6000, { active: false });
    expect(h.state('check')).toBe('false');
  });

  it('the expectations holding late clear the failure too', () => {
    const h = harness(yaml);
    h.read(0, { active: true, drop: true, valve: 'open' });
    h.advanceTo(3000);
    expect(h.state('check')).toBe('red');
    h.read(4000, { valve: 'closed' });
    expect(h.state('check')).toBe('false');
  });
});
