import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';
import { parseRuleFile } from '../parse-rule-file.js';

const rule = (extra = '') => `
profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    source: test
    levels:
      yellow: { raise: 60, clear: 58 }
      orange: { raise: 70, clear: 68 }
      red: { raise: 80, clear: 78 }
${extra}`;

describe('threshold', () => {
  it('clears in the rule’s own words (clear_message) when the value is back, and names its guard (when_name) when that ends', () => {
    const texts =
      '    name: Temp\n    when: running\n    when_name: the run\n    when_name_zh: 运行\n    clear_message: "Temp fine at {value} {unit}"\n    clear_message_zh: "温度正常 {value} {unit}"\n';
    const back = harness(rule(texts));
    back.read(1, { x: 85, running: true });
    back.read(2, { x: 50, running: true });
    expect(back.last('t')).toMatchObject({ status: 'false', detail: { message: 'Temp fine at 50 u', messageZh: '温度正常 50 u' } });
    const ended = harness(rule(texts));
    ended.read(1, { x: 85, running: true });
    ended.read(2, { x: 85, running: false });
    expect(ended.last('t')).toMatchObject({
      status: 'false',
      detail: { message: 'Temp: no longer judged, the run ended', messageZh: 'Temp：运行结束，停止判定' },
    });
  });

  it('fail-safe: a saturated reading during a pending clear keeps the alarm, counts in N-of-M, and the guard it carries still counts', () => {
    const deps = { rangeOf: () => ({ min: 0, max: 100 }) };
    // red 80/78 with a 5-min off-delay: 90, then 10 (the clear waits), then the detector saturates — still red at 7 min
    const delayed = harness(rule('    offDelay: 5m\n'), { deps });
    delayed.read(0, { x: 90 });
    delayed.read(60_000, { x: 10 });
    delayed.read(120_000, { x: 9999 });
    delayed.read(180_000, { x: 9999 });
    delayed.advanceTo(7 * 60_000);
    expect(delayed.state('t')).toBe('red');
    // 2 of 3 samples: over-range readings at the level count as samples of it
    const nOfM = harness(rule('    samples: { n: 2, m: 3 }\n'), { deps });
    for (const [i, x] of [90, 90, 10, 9999, 9999, 10].entries()) nOfM.read(i * 1000, { x });
    expect(nOfM.state('t')).toBe('red');
    // a cast ends (the guard) as its transmitter under-ranges: the alarm ends with the cast all the same
    const guarded = harness(rule('    when: running\n'), { deps });
    guarded.read(0, { x: 90, running: true });
    guarded.read(1000, { x: -5, running: false });
    expect(guarded.state('t')).toBe('false');
    const skipped = harness(rule('    when: running\n    outsideRange: skip\n'), { deps });
    skipped.read(0, { x: 90, running: true });
    skipped.read(1000, { x: -5, running: false });
    expect(skipped.state('t')).toBe('false');
  });

  it('a reading outside the sensor range never lowers the alarm; it raises it (fail-safe) unless outsideRange: skip', () => {
    const deps = { rangeOf: () => ({ min: 0, max: 100 }) };
    // default, fail-safe: an open sensor's −999 is not "back to normal"; a saturated one's 9999 may be real
    const failSafe = harness(rule(), { deps });
    failSafe.read(1, { x: 85 });
    failSafe.read(2, { x: -999 });
    expect(failSafe.state('t')).toBe('red');
    expect(failSafe.changes.map((c) => c.verdict.status)).toEqual(['true', 'true', 'true']);
    failSafe.read(3, { x: 50 });
    expect(failSafe.state('t')).toBe('false');
    failSafe.read(4, { x: 9999 });
    expect(failSafe.last('t')).toMatchObject({ severity: 'red', value: 9999 });
    // skip: not a value of the process — changes nothing, raised or not
    const skip = harness(rule('    outsideRange: skip\n'), { deps });
    skip.read(1, { x: 9999 });
    expect(skip.changes).toEqual([]);
    skip.read(2, { x: 85 });
    skip.read(3, { x: -999 });
    skip.read(4, { x: 9999 });
    // back at red: nothing to tell; back at normal: cleared as ever
    skip.read(5, { x: 85 });
    expect(skip.changes.map((c) => c.verdict.status)).toEqual(['true', 'true', 'true']);
    skip.read(6, { x: 50 });
    expect(skip.state('t')).toBe('false');
  });

  it('a level computed from attributes is shown and sent rounded: 0.7 × 0.2 is 0.14, not 0.13999999999999999', () => {
    const h = harness(
      `
profile: p
rules:
  - { id: low, kind: threshold, metric: p, direction: below, levels: { red: { raise: "0.7 * attr.design", clear: "0.75 * attr.design" } }, source: t }
`,
      { attributes: { design: 0.2 } },
    );
    h.read(0, { p: 0.1 });
    expect(h.last('low')).toMatchObject({ severity: 'red', threshold: 0.14 });
    expect((h.last('low') as { message: string }).message).toContain('0.14');
    expect((h.last('low') as { message: string }).message).not.toContain('0.1399');
  });

  it('raises on a value sitting exactly on the threshold and holds it there', () => {
    const h = harness(rule());
    h.read(1, { x: 60 });
    expect(h.state('t')).toBe('yellow');
    h.read(2, { x: 60 });
    expect(h.changes).toHaveLength(1);
  });

  it('does not flap on noise inside the hysteresis band', () => {
    const h = harness(rule());
    h.read(0, { x: 61 });
    for (let i = 1; i <= 50; i += 1) h.read(i, { x: 58.1 + (i % 3) * 0.9 });
    expect(h.changes).toHaveLength(1);
    h.read(100, { x: 57.9 });
    expect(h.state('t')).toBe('false');
  });

  it('escalates straight to the level the value calls for and de-escalates through hysteresis', () => {
    const h = harness(rule());
    h.read(1, { x: 85 });
    expect(h.state('t')).toBe('red');
    h.read(2, { x: 79 });
    expect(h.state('t')).toBe('red');
    h.read(3, { x: 77 });
    expect(h.state('t')).toBe('orange');
    h.read(4, { x: 10 });
    expect(h.state('t')).toBe('false');
  });

  it("an orange alarm falling into yellow's band (between yellow's raise and orange's clear) drops to yellow, it does not clear", () => {
    const h = harness(rule());
    h.read(1, { x: 72 });
    expect(h.state('t')).toBe('orange');
    h.read(2, { x: 65 });
    expect(h.state('t')).toBe('yellow');
    expect(h.last('t')).toMatchObject({ status: 'true', severity: 'yellow', value: 65 });
    // inside yellow's own hysteresis band it still holds yellow
    h.read(3, { x: 59 });
    expect(h.state('t')).toBe('yellow');
    h.read(4, { x: 57 });
    expect(h.state('t')).toBe('false');
  });

  it('an on-delay interrupted one sample before it completes raises nothing, and restarts from zero', () => {
    const h = harness(rule('    onDelay: 10s\n'));
    for (let t = 0; t < 10_000; t += 1000) h.read(t, { x: 65 });
    expect(h.state('t')).toBe('pending');
    h.read(10_000 - 1, { x: 50 });
    expect(h.state('t')).toBe('false');
    h.advanceTo(30_000);
    expect(h.state('t')).toBe('false');
    h.read(30_000, { x: 65 });
    h.advanceTo(39_999);
    expect(h.state('t')).toBe('pending');
    h.advanceTo(40_000);
    expect(h.state('t')).toBe('yellow');
  });

  it('completes an on-delay from the clock alone, with no further message, showing each level crossed', () => {
    const h = harness(rule('    onDelay: 10m\n    offDelay: 1m\n'));
    h.read(0, { x: 75 });
    expect(h.engine.nextDueAt()).toBe(600_000);
    const raised = h.tick(600_000);
    expect(raised.map((c) => (c.verdict.status === 'true' ? c.verdict.severity : c.verdict.status))).toEqual(['yellow', 'orange']);
    expect(h.state('t')).toBe('orange');
    h.read(700_000, { x: 10 });
    expect(h.state('t')).toBe('pending');
    h.tick(760_000);
    expect(h.state('t')).toBe('false');
  });

  it('uses a per-level on-delay: red immediately, yellow only after 30 s', () => {
    const h = harness(`
profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    source: test
    onDelay: 30s
    levels:
      yellow: { raise: 60 }
      red: { raise: 80, onDelay: 0 }
`);
    h.read(0, { x: 65 });
    expect(h.state('t')).toBe('pending');
    h.read(1000, { x: 90 });
    expect(h.state('t')).toBe('red');
  });

  it('raises with N-of-M samples only when n of the last m samples are in alarm', () => {
    const h = harness(rule('    samples: { n: 3, m: 5 }\n'));
    const values = [65, 50, 65, 50, 50, 65];
    for (const [i, x] of values.entries()) h.read(i, { x });
    expect(h.state('t')).toBe('false');
    h.read(10, { x: 65 });
    expect(h.state('t')).toBe('yellow');
  });

  it('ignores a single float jump with N-of-M (GNSS float solution)', () => {
    const h = harness(rule('    samples: { n: 2, m: 3 }\n'));
    for (const [i, x] of [10, 10, 500, 10, 10].entries()) h.read(i, { x });
    expect(h.changes.filter((c) => c.verdict.status === 'true')).toHaveLength(0);
  });

  it('applies only while the when-guard holds, re-evaluating when the guard metric alone changes', () => {
    const h = harness(rule('    when: casting_active\n'));
    h.read(0, { x: 75, casting_active: false });
    expect(h.state('t')).toBe('false');
    h.read(1, { casting_active: true });
    expect(h.state('t')).toBe('orange');
    h.read(2, { casting_active: false });
    expect(h.state('t')).toBe('false');
  });

  it('resolves thresholds from device attributes', () => {
    const h = harness(
      `
profile: p
rules:
  - id: low
    kind: threshold
    metric: cooling_pressure
    direction: below
    source: test
    levels:
      yellow: { raise: "0.85 * attr.setpoint", clear: "0.9 * attr.setpoint" }
      red: { raise: "0.7 * attr.setpoint" }
`,
      { attributes: { setpoint: 0.2 } },
    );
    h.read(0, { cooling_pressure: 0.169 });
    expect(h.state('low')).toBe('yellow');
    expect(h.last('low')).toMatchObject({ threshold: 0.17 });
    h.read(1, { cooling_pressure: 0.175 });
    expect(h.state('low')).toBe('yellow');
    h.read(2, { cooling_pressure: 0.13 });
    expect(h.state('low')).toBe('red');
  });

  it('judges each device against its own attribute thresholds, not those of the first device', () => {
    const h = harness(
      `
profile: p
rules:
  - id: low
    kind: threshold
    metric: pressure
    direction: below
    source: test
    levels:
      yellow: { raise: "0.85 * attr.setpoint" }
`,
      { attributes: { setpoint: 0.2 } },
    );
    h.read(0, { pressure: 0.169 });
    expect(h.state('low')).toBe('yellow');
    const big = { site: 's', device: 'big', profile: 'p', attributes: { setpoint: 2 } };
    const changes = h.engine.onReading({ site: 's', device: 'big', profile: 'p', ts: 0, metrics: { pressure: 1.8 } }, big).changes;
    expect(changes).toEqual([]); // 1.8 is above 0.85 × 2 = 1.7: normal for this device
    // 1.6 is below its 1.7, though far above the first device's 0.17
    const low = h.engine.onReading({ site: 's', device: 'big', profile: 'p', ts: 1, metrics: { pressure: 1.6 } }, big).changes;
    expect(low.map((c) => [c.device, c.verdict.status === 'true' ? c.verdict.severity : null])).toEqual([['big', 'yellow']]);
  });

  it('skips a level whose attribute is missing instead of alarming', () => {
    const h = harness(`
profile: p
rules:
  - id: low
    kind: threshold
    metric: x
    source: test
    levels: { red: { raise: "attr.limit" } }
`);
    h.read(0, { x: 1e9 });
    expect(h.state('low')).toBe('false');
  });

  it('does not evaluate late readings (a late value cannot resurrect a cleared alarm)', () => {
    const h = harness(rule());
    h.read(100, { x: 75 });
    h.read(200, { x: 10 });
    const late = h.engine.onReading({ site: 's', device: 'd', profile: 'p', ts: 150, metrics: { x: 99 } }, h.device);
    expect(late).toEqual({ changes: [], late: true });
    expect(h.state('t')).toBe('false');
  });

  it('restored mid-delay, completes the delay on time', () => {
    const h = harness(rule('    onDelay: 10s\n'));
    h.read(0, { x: 65 });
    const snap = h.engine.snapshot();
    const h2 = harness(rule('    onDelay: 10s\n'));
    h2.engine.restore(snap);
    expect(h2.engine.nextDueAt()).toBe(10_000);
    h2.tick(9_999);
    expect(h2.state('t')).toBe('pending');
    h2.tick(10_000);
    expect(h2.state('t')).toBe('yellow');
  });

  it('refuses levels in the wrong order and clear on the wrong side', () => {
    expect(() =>
      harness(`
profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    source: test
    levels:
      yellow: { raise: 60, clear: 62 }
      orange: { raise: 50 }
`),
    ).toThrow(/clear must be on the normal side[\s\S]*more severe level must be higher/);
  });

  // A rule file whose levels cannot work is refused at load, with the level and field the author must fix.
  const problems = (direction: 'above' | 'below', levels: string): string[] => {
    const parsed = parseRuleFile(
      `
profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    direction: ${direction}
    source: test
    levels: ${levels}
`,
      'rules.yaml',
    );
    return parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it('refuses a rule without any level', () => {
    expect(problems('above', '{}')).toEqual(['rules[0].levels: at least one level is required']);
  });

  it('refuses a more severe level at the same threshold as the one below it', () => {
    expect(problems('above', '{ yellow: { raise: 60 }, orange: { raise: 60 } }')).toEqual([
      'rules[0].levels.orange.raise: a more severe level must be higher than the one below it (60)',
    ]);
  });

  it('refuses, for a falling signal, clear below raise and a more severe level not lower', () => {
    expect(problems('below', '{ yellow: { raise: 10, clear: 5 } }')).toEqual([
      'rules[0].levels.yellow.clear: clear must be on the normal side of raise (≥ 10) for direction below',
    ]);
    expect(problems('below', '{ yellow: { raise: 10 }, orange: { raise: 10 } }')).toEqual([
      'rules[0].levels.orange.raise: a more severe level must be lower than the one below it (10)',
    ]);
    expect(problems('below', '{ yellow: { raise: 10, clear: 15 }, orange: { raise: 5, clear: 8 } }')).toEqual([]);
  });

  it('holds the level of a falling signal while the value sits exactly on clear, and clears once it passes over', () => {
    const h = harness(`
profile: p
rules:
  - id: t
    kind: threshold
    metric: x
    direction: below
    source: test
    levels:
      yellow: { raise: 10, clear: 15 }
`);
    h.read(0, { x: 9 });
    expect(h.state('t')).toBe('yellow');
    h.read(1, { x: 15 });
    expect(h.state('t')).toBe('yellow');
    h.read(2, { x: 15.1 });
    expect(h.state('t')).toBe('false');
  });
});
