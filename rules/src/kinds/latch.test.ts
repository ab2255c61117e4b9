import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

const yaml = `
profile: p
rules:
  - { id: over_range, kind: threshold, metric: lel, latch: until_acknowledged, levels: { red: { raise: 100 } }, source: t }
  - { id: plain, kind: threshold, metric: lel, levels: { red: { raise: 100 } }, source: t }
`;
const KEY = 's/d/over_range';

describe('latch: until_acknowledged', () => {
  it('holds the alarm after the condition ends, and clears it on acknowledgement', () => {
    const h = harness(yaml);
    h.read(0, { lel: 120 });
    h.read(1000, { lel: 3 });
    expect([h.state('over_range'), h.state('plain')]).toEqual(['red', 'false']);
    h.advanceTo(8 * 3_600_000);
    h.read(8 * 3_600_000, { lel: 2 });
    expect(h.state('over_range')).toBe('red');
    const out = h.engine.acknowledge(KEY, 8 * 3_600_000 + 1);
    expect(out.map((c) => [c.key, c.verdict.status])).toEqual([[KEY, 'false']]);
    expect(h.state('over_range')).toBe('false');
  });

  it('acknowledged while the condition lasts: clears when it ends; a new excursion latches again', () => {
    const h = harness(yaml);
    h.read(0, { lel: 120 });
    expect(h.engine.acknowledge(KEY, 500)).toEqual([]);
    h.read(1000, { lel: 3 });
    expect(h.state('over_range')).toBe('false');
    h.read(2000, { lel: 150 });
    h.read(3000, { lel: 3 });
    expect(h.state('over_range')).toBe('red');
  });

  it('acknowledged at orange and let go, then escalated to red: red latches again until its own acknowledgement', () => {
    const h = harness(`
profile: p
rules:
  - { id: gas, kind: threshold, metric: lel, latch: until_acknowledged, levels: { orange: { raise: 20, clear: 18 }, red: { raise: 40, clear: 38 } }, source: t }
`);
    h.read(0, { lel: 25 });
    h.engine.acknowledge('s/d/gas', 500);
    h.read(1000, { lel: 50 });
    expect(h.state('gas')).toBe('red');
    // nobody acknowledged the red (the alarm book asks again): it holds
    h.read(2000, { lel: 0 });
    expect(h.state('gas')).toBe('red');
    expect(h.engine.acknowledge('s/d/gas', 3000).map((c) => c.verdict.status)).toEqual(['false']);
  });

  it('acknowledging a rule that does not latch, or an unknown key, changes nothing', () => {
    const h = harness(yaml);
    h.read(0, { lel: 120 });
    expect(h.engine.acknowledge('s/d/plain', 1)).toEqual([]);
    expect(h.engine.acknowledge('s/x/over_range', 1)).toEqual([]);
    expect(h.state('plain')).toBe('red');
  });

  it('the latch survives snapshot and restore', () => {
    const h = harness(yaml);
    h.read(0, { lel: 120 });
    const snap = JSON.parse(JSON.stringify(h.engine.snapshot()));
    const again = harness(yaml);
    again.engine.restore(snap, 1000);
    again.read(1000, { lel: 1 });
    expect(again.state('over_range')).toBe('red');
    expect(again.engine.acknowledge(KEY, 2000).map((c) => c.verdict.status)).toEqual(['false']);
  });

  it('a latched alarm still escalates, and then holds the higher level until acknowledged', () => {
    const h = harness(`
profile: p
rules:
  - { id: lel, kind: threshold, metric: lel, latch: until_acknowledged, levels: { yellow: { raise: 50 }, red: { raise: 100 } }, source: t }
`);
    h.read(0, { lel: 60 });
    expect(h.state('lel')).toBe('yellow');
    h.read(1000, { lel: 120 });
    expect(h.state('lel')).toBe('red');
    h.read(2000, { lel: 3 });
    expect(h.state('lel')).toBe('red');
    expect(h.engine.acknowledge('s/d/lel', 3000).map((c) => c.verdict.status)).toEqual(['false']);
  });

  it('works on expression rules too', () => {
    const h = harness(`
profile: p
rules:
  - { id: burst, kind: expression, condition: vent_burst, severity: red, latch: until_acknowledged, source: t }
`);
    h.read(0, { vent_burst: true });
    h.read(1000, { vent_burst: false });
    expect(h.state('burst')).toBe('red');
    h.engine.acknowledge('s/d/burst', 2000);
    expect(h.state('burst')).toBe('false');
  });
});
