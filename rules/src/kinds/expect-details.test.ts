import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../../test-support/harness.js';
import { createRuleEngine } from '../rule-engine.js';

const rule = (fields: string) => `\nprofile: p\nrules:\n  - { id: il, kind: expect, source: t, ${fields} }\n`;

describe('expect rule details', () => {
  it('names every expectation unmet, the time allowed and the trigger, in English and Chinese', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'", "drain == 'open'", "pump"], within: 3s, severity: orange`));
    h.read(0, { drop: true, valve: 'open', drain: 'closed', pump: true });
    h.advanceTo(3000);
    expect(h.last('il')).toMatchObject({
      status: 'true',
      severity: 'orange',
      metric: null,
      value: null,
      threshold: null,
      message: "Interlock failure: valve == 'closed' AND drain == 'open' not seen within 3 s of drop",
      messageZh: "联锁失效：触发后 3 秒内未见「valve == 'closed'」、「drain == 'open'」",
    });
  });

  it('an expectation with words is named by them, and {unmet} puts the unmet ones into a message of the rule', () => {
    const labelled = `trigger: "drop", within: 3s, expect: [{ condition: "valve == 'closed'", name: the valve closed, name_zh: 阀门关闭 }, "drain == 'open'", "pump"]`;
    const h = harness(rule(labelled));
    h.read(0, { drop: true, valve: 'open', drain: 'closed', pump: true });
    h.advanceTo(3000);
    expect(h.last('il')).toMatchObject({
      message: "Interlock failure: the valve closed AND drain == 'open' not seen within 3 s of drop",
      messageZh: "联锁失效：触发后 3 秒内未见阀门关闭、「drain == 'open'」",
    });
    const worded = harness(rule(`${labelled}, message: "Trip: {unmet} — act by hand", message_zh: "跳闸：未见{unmet}——立即手动处置"`));
    worded.read(0, { drop: true, valve: 'open', drain: 'open', pump: true });
    worded.advanceTo(3000);
    expect(worded.last('il')).toMatchObject({
      message: 'Trip: the valve closed — act by hand',
      messageZh: '跳闸：未见阀门关闭——立即手动处置',
    });
  });

  it('a trigger too long to read (a casting interlock has a dozen conditions) is "its trigger" in the message', () => {
    const long = Array.from({ length: 8 }, (_, i) => `pressure_${i} < 0.7`).join(' or ');
    const h = harness(rule(`trigger: "${long}", expect: ["valve == 'closed'"], within: 3s`));
    h.read(0, { pressure_0: 0.1, valve: 'open' });
    h.advanceTo(3000);
    expect(h.last('il')).toMatchObject({ message: "Interlock failure: valve == 'closed' not seen within 3 s of its trigger" });
  });

  it('within 0: judged at the rising edge itself, red by default', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 0`));
    h.read(0, { drop: true, valve: 'open' });
    expect(h.changes.map((c) => c.verdict.status)).toEqual(['true']);
    expect(h.state('il')).toBe('red');
    const met = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 0`));
    met.read(0, { drop: true, valve: 'closed' });
    expect(met.changes).toEqual([]);
    expect(met.engine.nextDueAt()).toBeNull();
  });

  it('expectations already met at the edge leave nothing to wait for', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 3s`));
    h.read(0, { drop: true, valve: 'closed' });
    expect(h.changes).toEqual([]);
    expect(h.engine.nextDueAt()).toBeNull();
  });

  it('without reset: the trigger ending cancels the wait and clears a failure; met later, the wait ends', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 3s`));
    h.read(0, { drop: true, valve: 'open' });
    expect(h.state('il')).toBe('pending');
    h.read(1000, { drop: false });
    expect(h.state('il')).toBe('false');
    expect(h.engine.nextDueAt()).toBeNull();
    h.read(2000, { drop: true });
    h.advanceTo(5000);
    expect(h.state('il')).toBe('red');
    h.read(6000, { drop: false });
    expect(h.state('il')).toBe('false');
    h.read(7000, { drop: true });
    expect(h.state('il')).toBe('pending');
    h.read(8000, { valve: 'closed' });
    expect(h.state('il')).toBe('false');
    expect(h.engine.nextDueAt()).toBeNull();
  });

  it('with reset: a wait under way is judged at its deadline even if the reset holds meanwhile; only the expectations end it', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 3s, reset: "idle"`));
    h.read(0, { drop: true, valve: 'open', idle: false });
    expect(h.state('il')).toBe('pending');
    h.read(1000, { idle: true, drop: false });
    expect(h.state('il')).toBe('pending');
    h.advanceTo(3000);
    expect(h.state('il')).toBe('red');
    // the failure found, the reset ends it
    h.read(4000, { idle: true });
    expect(h.state('il')).toBe('false');
    // no check starts while the reset holds
    h.read(5000, { drop: true });
    expect(h.state('il')).toBe('false');
    expect(h.engine.nextDueAt()).toBeNull();
    h.read(6000, { idle: false, drop: false });
    h.read(7000, { drop: true });
    expect(h.state('il')).toBe('pending');
    h.read(8000, { valve: 'closed' });
    expect(h.state('il')).toBe('false');
    expect(h.engine.nextDueAt()).toBeNull();
  });

  it('ignores readings that carry none of its names', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 3s, reset: "idle"`));
    h.read(0, { drop: true, valve: 'open', idle: false });
    expect(h.read(1000, { other: 1 })).toEqual([]);
    expect(h.state('il')).toBe('pending');
  });

  it('within 0 with every expectation met at the edge: no alarm', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'", "pump"], within: 0`));
    h.read(0, { drop: true, valve: 'closed', pump: true });
    h.read(1000, { drop: false });
    h.read(2000, { drop: true });
    expect(h.changes).toEqual([]);
  });

  it('a wait under way when the gateway stopped goes on after the restart without the time it was down', () => {
    const h = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 10s`));
    h.read(0, { drop: true, valve: 'open' });
    const again = createRuleEngine({
      rules: ruleSetFromYaml(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 10s`)),
      unitOf: () => 'u',
    });
    // stopped at 4 s, down for 60 s
    again.restore(JSON.parse(JSON.stringify(h.engine.snapshot())), 64_000, 60_000);
    expect(again.nextDueAt()).toBe(70_000);
    expect(again.tick(69_999)).toEqual([]);
    expect(again.tick(70_000).map((c) => c.verdict.status)).toEqual(['true']);
    // a failure already raised stays as it was
    const failed = harness(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 1s`));
    failed.read(0, { drop: true, valve: 'open' });
    failed.advanceTo(1000);
    const later = createRuleEngine({
      rules: ruleSetFromYaml(rule(`trigger: "drop", expect: ["valve == 'closed'"], within: 1s`)),
      unitOf: () => 'u',
    });
    later.restore(JSON.parse(JSON.stringify(failed.engine.snapshot())), 61_000, 60_000);
    expect(later.nextDueAt()).toBeNull();
    expect(later.verdicts().map((v) => v.status)).toEqual(['true']);
  });
});
