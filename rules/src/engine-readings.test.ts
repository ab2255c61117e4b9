import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';
import type { VerdictChange } from './rule-engine.js';

const MIN = 60_000;

const shown = (changes: VerdictChange[]) =>
  changes.map((c) => `${c.rule} ${c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status}`);

const RULES = `
profile: p
rules:
  - id: hot
    kind: threshold
    metric: x
    levels:
      yellow: { raise: 60, clear: 58 }
      orange: { raise: 70, clear: 68 }
      red: { raise: 80, clear: 78 }
    source: test
  - { id: silent, kind: silence, ladder: [{ after: 10m, severity: yellow }], source: test }
  - { id: stale, kind: expression, condition: "rule.silent >= yellow", severity: orange, source: test }
  - id: site_silent
    kind: group
    members: { rules: [silent] }
    require: any
    severity: red
    source: test
`;

describe('readings as the engine takes them', () => {
  it('a reading stamped ahead of its arrival counts at its arrival: the live readings after it are judged, not taken as late', () => {
    const h = harness(RULES);
    const read = (ts: number, receivedAt: number, x: number) =>
      h.engine.onReading({ site: 's', device: 'd', profile: 'p', ts, receivedAt, metrics: { x } }, h.device);
    expect(read(0, 0, 20).late).toBe(false);
    // a fast clock: stamped 4 min ahead, then corrected (NTP)
    expect(read(4 * MIN + 5_000, 5_000, 20).late).toBe(false);
    const hot = read(10_000, 10_000, 85);
    expect(hot.late).toBe(false);
    expect(shown(hot.changes)).toEqual(['hot yellow', 'hot orange', 'hot red']);
    expect(h.state('hot')).toBe('red');
  });

  it('a reading older than the newest is late: its values judge nothing, but it shows the device alive, and what reads that follows', () => {
    const h = harness(RULES);
    h.read(0, { x: 65 });
    expect(h.tick(10 * MIN).map((c) => c.rule)).toEqual(['silent', 'stale', 'site_silent']);
    const late = h.engine.onReading({ site: 's', device: 'd', profile: 'p', ts: -MIN, receivedAt: 11 * MIN, metrics: { x: 20 } }, h.device);
    expect(late.late).toBe(true);
    expect(shown(late.changes)).toEqual(['silent false', 'stale false', 'site_silent false']);
    expect(h.state('hot')).toBe('yellow');
  });

  it('a reading with the same time as the newest is judged', () => {
    const h = harness(RULES);
    h.read(5, { x: 65 });
    expect(shown(h.read(5, { x: 20 }))).toEqual(['hot false']);
  });

  it('a level passed over on the way up is shown once, and not the level already shown', () => {
    const h = harness(RULES);
    expect(shown(h.read(0, { x: 65 }))).toEqual(['hot yellow']);
    expect(shown(h.read(1, { x: 85 }))).toEqual(['hot orange', 'hot red']);
    expect(shown(h.read(2, { x: 90 }))).toEqual([]);
  });

  it('acknowledging a key the engine does not know, or a rule that does not latch, changes nothing', () => {
    const h = harness(RULES);
    h.read(0, { x: 65 });
    expect(h.engine.acknowledge('s/d/nope', MIN)).toEqual([]);
    expect(h.engine.acknowledge('s/other/hot', MIN)).toEqual([]);
    expect(h.engine.acknowledge('s/d/silent', MIN)).toEqual([]);
    expect(h.engine.acknowledge('s/d/hot', MIN)).toEqual([]);
    expect(h.state('hot')).toBe('yellow');
  });

  it('registering a device already known changes nothing and does not restart its silence clock', () => {
    const h = harness(RULES);
    h.read(0, { x: 20 });
    expect(h.engine.registerDevice(h.device, 5 * MIN)).toEqual([]);
    expect(h.engine.registerDevices([h.device], 6 * MIN)).toEqual([]);
    expect(h.engine.nextDueAt()).toBe(10 * MIN);
  });

  it('lists the verdict of every rule of every device, and of the group slots raised', () => {
    const h = harness(RULES);
    h.read(0, { x: 65 });
    h.tick(10 * MIN);
    expect(h.engine.verdicts()).toEqual([
      { key: 's/d/hot', status: 'true', severity: 'yellow' },
      { key: 's/d/silent', status: 'true', severity: 'yellow' },
      { key: 's/d/stale', status: 'true', severity: 'orange' },
      { key: 's/_site/site_silent', status: 'true', severity: 'red' },
    ]);
  });
});
