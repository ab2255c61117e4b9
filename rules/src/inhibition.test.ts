import { describe, expect, it } from 'vitest';
import { harness, ruleSetFromYaml } from '../test-support/harness.js';
import { type AlarmBook, createAlarmBook } from './alarm-book.js';
import { createInhibition } from './inhibition.js';
import type { Inhibits } from './inhibits.js';
import { inhibitsOf } from './inhibits.js';
import type { VerdictChange } from './rule-engine.js';
import type { Severity } from './severity.js';
import { validateRuleSet } from './validate-rule-set.js';

let n = 0;
const book = (): AlarmBook => createAlarmBook({ newAlarmId: () => `alm_${++n}`, flapping: false });

const change = (
  at: number,
  severity: Severity | null,
  where: { device?: string; rule?: string; profile?: string; inhibits?: Inhibits } = {},
): VerdictChange => {
  const device = where.device ?? 'dc-01';
  const rule = where.rule ?? 'hopper_temp_high';
  return {
    key: `s/${device}/${rule}`,
    site: 's',
    device,
    profile: where.profile ?? 'dust-collector',
    rule,
    source: 'test',
    at,
    verdict:
      severity === null
        ? { status: 'false' }
        : { status: 'true', severity, metric: 'x', value: 1, threshold: 1, unit: null, message: `${rule} ${severity}` },
    ...(where.inhibits ? { inhibits: where.inhibits } : {}),
  };
};
const silent = (at: number, on: boolean, device = 'dc-01'): VerdictChange =>
  change(at, on ? 'yellow' : null, { device, rule: 'device_silent', inhibits: { scope: 'device' } });

describe('inhibition', () => {
  it('device silence inhibits its device, a sensor fault the rules about its metric, by default; `false` turns it off', () => {
    expect(inhibitsOf({ kind: 'silence' })).toEqual({ scope: 'device' });
    // a stale sensor may be what an interlock's permissive raises on: nothing by default
    expect(inhibitsOf({ kind: 'silence', metric: 'launder_level' })).toBeUndefined();
    expect(inhibitsOf({ kind: 'range' })).toEqual({ scope: 'device', sameMetric: true });
    expect(inhibitsOf({ kind: 'range', inhibits: false })).toBeUndefined();
    expect(inhibitsOf({ kind: 'threshold' })).toBeUndefined();
  });

  it('a silent device raises no value alarm; the change is recorded and the alarm takes the current state at the end', () => {
    const b = book();
    expect(b.apply(silent(0, true)).map((t) => t.alarm.rule)).toEqual(['device_silent']);
    expect(b.apply(change(1, 'orange'))).toEqual([]);
    expect(b.inhibition.recent()).toMatchObject([
      { key: 's/dc-01/hopper_temp_high', status: 'true', severity: 'orange', inhibitedBy: 's/dc-01/device_silent' },
    ]);
    expect(b.inhibition.held()).toEqual([
      { key: 's/dc-01/hopper_temp_high', inhibitedBy: 's/dc-01/device_silent', status: 'true', severity: 'orange' },
    ]);
    // another device of the site is not silent: its alarms go out
    expect(b.apply(change(2, 'yellow', { device: 'dc-02' })).map((t) => t.type)).toEqual(['alarm.raised']);
    const end = b.apply(silent(3, false));
    expect(end.map((t) => [t.alarm.rule, t.type, t.at])).toEqual([
      ['device_silent', 'alarm.cleared', 3],
      ['hopper_temp_high', 'alarm.raised', 3],
    ]);
    expect(b.inhibition.held()).toEqual([]);
  });

  it('a condition that came and went while inhibited leaves no alarm', () => {
    const b = book();
    b.apply(silent(0, true));
    b.apply(change(1, 'orange'));
    b.apply(change(2, null));
    expect(b.apply(silent(3, false)).map((t) => t.alarm.rule)).toEqual(['device_silent']);
    expect(b.list({ state: 'all' }).map((a) => a.rule)).toEqual(['device_silent']);
    expect(b.inhibition.recent().map((r) => r.status)).toEqual(['false', 'true']);
  });

  it('a site inhibitor covers the listed rules of the listed profiles on every device of the site, and nothing else', () => {
    const b = book();
    const powerOff = (at: number, on: boolean) =>
      change(at, on ? 'blue' : null, {
        device: 'meter',
        profile: 'power',
        rule: 'site_power_off',
        inhibits: { scope: 'site', profiles: ['dust-collector'], rules: ['fan_stopped_while_process', 'device_silent'] },
      });
    b.apply(powerOff(0, true));
    expect(b.apply(change(1, 'orange', { rule: 'fan_stopped_while_process' }))).toEqual([]);
    // listed: even an inhibitor of its own is covered
    expect(b.apply(silent(2, true))).toEqual([]);
    // not listed: it goes out (on dc-02: dc-01 is silent, its own silence covers its rules)
    expect(b.apply(change(3, 'red', { device: 'dc-02', rule: 'spark_detected' })).map((t) => t.type)).toEqual(['alarm.raised']);
    expect(b.apply(change(3, 'red', { rule: 'spark_detected' }))).toEqual([]);
    expect(b.apply(change(4, 'orange', { device: 'pump', profile: 'confined-space', rule: 'fan_stopped_while_process' }))).toHaveLength(1);
    // the device stays silent when the power returns: its silence alarm appears; its own inhibition still holds
    const back = b.apply(powerOff(5, false));
    expect(back.map((t) => [t.alarm.rule, t.type])).toEqual([
      ['site_power_off', 'alarm.cleared'],
      ['device_silent', 'alarm.raised'],
    ]);
    expect(b.inhibition.held().map((h) => [h.key, h.inhibitedBy])).toEqual([
      ['s/dc-01/fan_stopped_while_process', 's/dc-01/device_silent'],
      ['s/dc-01/spark_detected', 's/dc-01/device_silent'],
    ]);
  });

  it('a reading that shows a sensor fault raises only the fault; back from it, the alarm takes the newest state, not the faulty one', () => {
    const b = book();
    const fault = (at: number, on: boolean) => change(at, on ? 'orange' : null, { rule: 'sensor_fault', inhibits: { scope: 'device' } });
    // the engine lists the value rule first (file order): the fault still goes first
    expect(b.applyAll([change(0, 'red'), fault(0, true)]).map((t) => [t.alarm.rule, t.type])).toEqual([['sensor_fault', 'alarm.raised']]);
    expect(b.inhibition.recent()).toMatchObject([{ rule: 'hopper_temp_high', severity: 'red', inhibitedBy: 's/dc-01/sensor_fault' }]);
    expect(b.applyAll([change(1, 'yellow'), fault(1, false)]).map((t) => [t.alarm.rule, t.type, t.alarm.severity])).toEqual([
      ['sensor_fault', 'alarm.cleared', 'orange'],
      ['hopper_temp_high', 'alarm.raised', 'yellow'],
    ]);
  });

  it('a sensor fault (sameMetric) holds back the alarms about its metric only', () => {
    const b = book();
    const fault = (at: number, on: boolean, metric = 'hopper_temp'): VerdictChange => ({
      ...change(at, on ? 'orange' : null, { rule: 'sensor_fault', inhibits: { scope: 'device', sameMetric: true } }),
      ...(on ? { verdict: { status: 'true', severity: 'orange', metric, value: 999, threshold: 400, unit: null, message: 'fault' } } : {}),
    });
    const about = (at: number, rule: string, metric: string, severity: Severity | null): VerdictChange => {
      const c = change(at, severity, { rule });
      return c.verdict.status === 'true' ? { ...c, verdict: { ...c.verdict, metric } } : c;
    };
    b.applyAll([fault(0, true)]);
    expect(b.applyAll([about(1, 'hopper_temp_high', 'hopper_temp', 'red')])).toEqual([]);
    expect(b.applyAll([about(1, 'diff_pressure_high', 'diff_pressure', 'yellow')]).map((t) => t.type)).toEqual(['alarm.raised']);
    // its clear (no metric of its own) is held as well: the key is held
    expect(b.applyAll([about(2, 'hopper_temp_high', 'hopper_temp', null)])).toEqual([]);
    expect(b.applyAll([fault(3, false)]).map((t) => t.alarm.rule)).toEqual(['sensor_fault']);
  });

  it('a clear that names no metric, held by a sensor fault, stays held while the fault lasts', () => {
    const b = book();
    const fault = (at: number, severity: Severity): VerdictChange => ({
      ...change(at, severity, { rule: 'sensor_fault', inhibits: { scope: 'device', sameMetric: true } }),
      verdict: { status: 'true', severity, metric: 'diff_pressure', value: 9999, threshold: 6000, unit: null, message: 'fault' },
    });
    const stuck = (at: number, on: boolean): VerdictChange => {
      const c = change(at, on ? 'yellow' : null, { rule: 'dp_stuck' });
      // its clear is the plain "back to normal" that names no metric
      return c.verdict.status === 'true'
        ? { ...c, verdict: { ...c.verdict, metric: 'diff_pressure' } }
        : { ...c, verdict: { status: 'false' } };
    };
    b.applyAll([fault(0, 'yellow')]);
    expect(b.applyAll([stuck(1, true)])).toEqual([]);
    expect(b.applyAll([stuck(2, false)])).toEqual([]);
    expect(b.inhibition.held()).toEqual([
      { key: 's/dc-01/dp_stuck', inhibitedBy: 's/dc-01/sensor_fault', status: 'false', severity: null },
    ]);
    // the fault escalating changes nothing of what it holds
    expect(b.applyAll([fault(3, 'orange')]).map((t) => [t.type, t.alarm.rule])).toEqual([['alarm.escalated', 'sensor_fault']]);
    expect(b.inhibition.held()).toHaveLength(1);
  });

  it('a sensor fault that moves to another metric lets go of what it held about the first, at once', () => {
    const b = book();
    const fault = (at: number, metric: string): VerdictChange => ({
      ...change(at, 'orange', { rule: 'sensor_fault', inhibits: { scope: 'device', sameMetric: true } }),
      verdict: { status: 'true', severity: 'orange', metric, value: 999, threshold: 400, unit: null, message: 'fault' },
    });
    const hot: VerdictChange = {
      ...change(1, 'red'),
      verdict: { ...change(1, 'red').verdict, metric: 'hopper_temp' } as VerdictChange['verdict'],
    };
    b.applyAll([fault(0, 'hopper_temp')]);
    expect(b.applyAll([hot])).toEqual([]);
    // the fault is now about the pressure sensor (same severity: its alarm does not move); the temperature alarm it
    // held goes out with that change
    expect(b.applyAll([fault(2, 'diff_pressure')]).map((t) => [t.type, t.alarm.rule, t.alarm.severity])).toEqual([
      ['alarm.raised', 'hopper_temp_high', 'red'],
    ]);
    expect(b.inhibition.held()).toEqual([]);
  });

  it('survives snapshot and restore', () => {
    const b = book();
    b.apply(silent(0, true));
    b.apply(change(1, 'orange'));
    const copy = book();
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(copy.apply(change(2, 'red'))).toEqual([]);
    expect(copy.apply(silent(3, false)).map((t) => [t.alarm.rule, t.alarm.severity])).toEqual([
      ['device_silent', 'yellow'],
      ['hopper_temp_high', 'red'],
    ]);
  });

  it("the engine puts a rule's inhibits on its changes (a silence rule by default; `false` turns it off)", () => {
    const yaml = (extra: string) => `
profile: p
rules:
  - { id: quiet, kind: silence, ladder: [{ after: 5s, severity: yellow }], source: t${extra} }
  - { id: high, kind: threshold, metric: x, direction: above, levels: { orange: { raise: 10, clear: 8 } }, source: t }
`;
    const on = harness(yaml(''));
    on.read(0, { x: 20 });
    on.advanceTo(10_000);
    expect(on.changes.map((c) => [c.rule, c.verdict.status, c.inhibits])).toEqual([
      ['high', 'true', undefined],
      ['quiet', 'true', { scope: 'device' }],
    ]);
    const off = harness(yaml(', inhibits: false'));
    off.read(0, { x: 20 });
    off.advanceTo(10_000);
    expect(off.changes.every((c) => c.inhibits === undefined)).toBe(true);
  });

  it('a rule file that inhibits a rule or profile nobody has is refused at load', () => {
    const set = ruleSetFromYaml(`
profile: p
rules:
  - id: off
    kind: threshold
    metric: x
    direction: below
    levels: { blue: { raise: 1 } }
    inhibits: { scope: site, rules: [no_such_rule], profiles: [no-such-profile] }
    source: t
`);
    expect(validateRuleSet(set, { metricsOf: (profile) => (profile === 'p' ? ['x'] : null) })).toEqual([
      'p/off: inhibits.rules: no rule "no_such_rule" in any profile',
      'p/off: inhibits.profiles: unknown profile "no-such-profile"',
    ]);
    expect(() =>
      ruleSetFromYaml(
        'profile: p\nrules:\n  - { id: a, kind: silence, metric: x, ladder: [{ after: 1s, severity: blue }], inhibits: { scope: plant }, source: t }\n',
      ),
    ).toThrow(/inhibits/);
  });

  it('a batch keeps its time order: the inhibiting rules go first only among changes of the same time', () => {
    const b = book();
    expect(b.applyAll([change(10, 'yellow'), silent(20, true)]).map((t) => [t.type, t.alarm.rule])).toEqual([
      ['alarm.raised', 'hopper_temp_high'],
      ['alarm.raised', 'device_silent'],
    ]);
  });

  it('an inhibitor ending in a batch releases what it held, unless a later change of the same key in the batch brings a newer state', () => {
    const rules = (steps: { alarm: { rule: string; device: string } }[]) => steps.map((t) => `${t.alarm.device}/${t.alarm.rule}`);
    // held earlier in the same batch, at an earlier time
    const earlier = book();
    earlier.apply(silent(0, true));
    expect(rules(earlier.applyAll([change(10, 'yellow'), silent(20, false)]))).toEqual(['dc-01/device_silent', 'dc-01/hopper_temp_high']);
    // a later change of another key, or a pending one of the same key, does not stand in for the held state
    const other = book();
    other.apply(silent(0, true));
    other.apply(change(5, 'yellow'));
    expect(rules(other.applyAll([silent(20, false), change(20, 'yellow', { device: 'dc-02' })]))).toEqual([
      'dc-01/device_silent',
      'dc-01/hopper_temp_high',
      'dc-02/hopper_temp_high',
    ]);
    const pending = book();
    pending.apply(silent(0, true));
    pending.apply(change(5, 'yellow'));
    const delay: VerdictChange = { ...change(20, 'orange'), verdict: { status: 'pending', dueAt: 30 } };
    expect(rules(pending.applyAll([silent(20, false), delay]))).toEqual(['dc-01/device_silent', 'dc-01/hopper_temp_high']);
  });

  it('a site inhibitor holds nothing of another site; without a list no inhibitor holds another one', () => {
    const b = book();
    b.apply(change(0, 'red', { device: 'meter', rule: 'power_off', inhibits: { scope: 'site' } }));
    const elsewhere: VerdictChange = { ...change(1, 'yellow'), key: 'other/dc-01/hopper_temp_high', site: 'other' };
    expect(b.apply(elsewhere).map((t) => t.type)).toEqual(['alarm.raised']);
    expect(b.apply(change(1, 'yellow'))).toEqual([]);
    expect(b.apply(silent(2, true)).map((t) => [t.type, t.alarm.rule])).toEqual([['alarm.raised', 'device_silent']]);
  });

  it('sameMetric: a fault whose verdict names no metric holds nothing; a change about another metric goes out and is no longer held', () => {
    const b = book();
    const noMetric = (v: VerdictChange): VerdictChange => ({ ...v, verdict: { ...v.verdict, metric: null } as VerdictChange['verdict'] });
    b.apply(noMetric(change(0, 'orange', { rule: 'fault', inhibits: { scope: 'device', sameMetric: true } })));
    expect(b.apply(noMetric(change(1, 'yellow'))).map((t) => t.type)).toEqual(['alarm.raised']);

    const m = book();
    const fault = (at: number, on: boolean) =>
      change(at, on ? 'orange' : null, { rule: 'ts_range', inhibits: { scope: 'device', sameMetric: true } });
    m.apply(fault(0, true));
    expect(m.apply(change(1, 'yellow'))).toEqual([]);
    expect(m.inhibition.takeChanges()).toMatchObject({
      inhibitors: [{ key: 's/dc-01/ts_range', metric: 'x' }],
      held: [{ change: { key: 's/dc-01/hopper_temp_high' }, metric: 'x' }],
      released: [],
    });
    const aboutY: VerdictChange = {
      ...change(2, 'orange'),
      verdict: { ...change(2, 'orange').verdict, metric: 'y' } as VerdictChange['verdict'],
    };
    expect(m.apply(aboutY).map((t) => [t.type, t.alarm.severity])).toEqual([['alarm.raised', 'orange']]);
    expect(m.inhibition.held()).toEqual([]);
    // no longer held is a change of the inhibition's state (to be saved)
    expect(m.inhibition.takeChanges()).toMatchObject({ ended: [], inhibitors: [], released: ['s/dc-01/hopper_temp_high'], held: [] });
    // the fault's end brings back nothing older than what went out
    expect(m.apply(fault(3, false)).map((t) => [t.type, t.alarm.rule])).toEqual([['alarm.cleared', 'ts_range']]);
  });

  it('shows its inhibitors, the keys held and by whom, the recent changes newest first, and whether anything changed', () => {
    const b = book();
    const inhibition = b.inhibition;
    expect(inhibition.takeChanges()).toBeNull();
    b.apply(change(0, 'yellow', { device: 'dc-02' }));
    expect(inhibition.takeChanges()).toBeNull();
    b.apply(silent(1, true));
    expect(inhibition.takeChanges()).toEqual({
      ended: [],
      inhibitors: inhibition.inhibitors(),
      released: [],
      held: [],
      recent: [],
    });
    expect(inhibition.takeChanges()).toBeNull();
    expect(inhibition.inhibitors()).toMatchObject([
      { key: 's/dc-01/device_silent', rule: 'device_silent', since: 1, inhibits: { scope: 'device' } },
    ]);
    b.apply(change(2, 'yellow'));
    expect(inhibition.takeChanges()).toMatchObject({
      inhibitors: [],
      held: [{ change: { key: 's/dc-01/hopper_temp_high', at: 2 }, metric: 'x' }],
      recent: [{ at: 2, key: 's/dc-01/hopper_temp_high', inhibitedBy: 's/dc-01/device_silent' }],
    });
    expect(inhibition.held()).toEqual([
      { key: 's/dc-01/hopper_temp_high', inhibitedBy: 's/dc-01/device_silent', status: 'true', severity: 'yellow' },
    ]);
    b.apply(change(3, null));
    expect(inhibition.held()).toEqual([
      { key: 's/dc-01/hopper_temp_high', inhibitedBy: 's/dc-01/device_silent', status: 'false', severity: null },
    ]);
    expect(inhibition.recent().map((r) => [r.at, r.status, r.severity, r.message, r.inhibitedBy])).toEqual([
      [3, 'false', null, null, 's/dc-01/device_silent'],
      [2, 'true', 'yellow', 'hopper_temp_high yellow', 's/dc-01/device_silent'],
    ]);
    const copy = book();
    copy.restore(JSON.parse(JSON.stringify(b.snapshot())));
    expect(copy.inhibition.inhibitors().map((i) => i.key)).toEqual(['s/dc-01/device_silent']);
    expect(copy.inhibition.held()).toEqual(inhibition.held());
    expect(copy.inhibition.recent()).toEqual(inhibition.recent());
    expect(copy.apply(change(4, 'orange'))).toEqual([]);
    inhibition.takeChanges();
    b.apply(silent(5, false));
    expect(inhibition.takeChanges()).toMatchObject({
      ended: ['s/dc-01/device_silent'],
      inhibitors: [],
      released: ['s/dc-01/hopper_temp_high'],
      held: [],
      recent: [],
    });
    expect(inhibition.held()).toEqual([]);
  });

  it('takeChanges lists what changed in the order a snapshot lists it: a key ended and set again goes last', () => {
    const inhibition = createInhibition();
    const keys = (list: Array<{ key: string }>) => list.map((i) => i.key);
    inhibition.observe(silent(0, true, 'd1'));
    expect(keys(inhibition.takeChanges()?.inhibitors ?? [])).toEqual(['s/d1/device_silent']);
    // d1 silent still (its place kept), d2 silent, d1 back and silent again: d1 now after d2
    inhibition.observe(silent(1, true, 'd1'));
    inhibition.observe(silent(1, true, 'd2'));
    inhibition.observe(silent(2, false, 'd1'));
    inhibition.observe(silent(3, true, 'd1'));
    // d3 silent and back within the same take: nothing of it to save
    inhibition.observe(silent(4, true, 'd3'));
    inhibition.observe(silent(5, false, 'd3'));
    const second = inhibition.takeChanges();
    expect(second?.ended.sort()).toEqual(['s/d1/device_silent', 's/d3/device_silent']);
    expect(keys(second?.inhibitors ?? [])).toEqual(['s/d2/device_silent', 's/d1/device_silent']);
    expect(keys(inhibition.snapshot().inhibitors)).toEqual(['s/d2/device_silent', 's/d1/device_silent']);
    // one ending and one starting, nothing else: still a change to save
    inhibition.observe(silent(6, false, 'd2'));
    inhibition.observe(silent(7, true, 'd4'));
    expect(inhibition.takeChanges()).toMatchObject({ ended: ['s/d2/device_silent'], inhibitors: [{ key: 's/d4/device_silent' }] });
    // held: d1's then d4's, d1's changing while held (its place kept)
    inhibition.observe(change(8, 'yellow', { device: 'd1' }));
    inhibition.observe(change(9, 'yellow', { device: 'd4' }));
    inhibition.observe(change(9, 'orange', { device: 'd1' }));
    expect(inhibition.takeChanges()?.held.map((h) => h.change.key)).toEqual(['s/d1/hopper_temp_high', 's/d4/hopper_temp_high']);
    // both change while held; then d1 back (released) and silent again, its value held anew: now after d4's
    inhibition.observe(change(10, 'red', { device: 'd1' }));
    inhibition.observe(change(10, 'red', { device: 'd4' }));
    inhibition.observe(silent(10, false, 'd1'));
    inhibition.observe(silent(11, true, 'd1'));
    inhibition.observe(change(12, 'orange', { device: 'd1' }));
    const held = inhibition.takeChanges();
    expect(held?.released).toEqual(['s/d1/hopper_temp_high']);
    expect(held?.held.map((h) => [h.change.key, h.change.at])).toEqual([
      ['s/d4/hopper_temp_high', 10],
      ['s/d1/hopper_temp_high', 12],
    ]);
    expect(inhibition.snapshot().latent.map(([key]) => key)).toEqual(['s/d4/hopper_temp_high', 's/d1/hopper_temp_high']);
  });

  it('keeps the most recent maxRecent inhibited changes', () => {
    const inhibition = createInhibition({ maxRecent: 2 });
    inhibition.observe(silent(0, true));
    for (const at of [1, 2, 3, 4, 5]) expect(inhibition.observe(change(at, 'yellow')).held).toBe(true);
    expect(inhibition.recent().map((r) => r.at)).toEqual([5, 4]);
    expect(inhibition.snapshot().recent.map((r) => r.at)).toEqual([4, 5]);
    // what a store is handed: no more than it keeps
    expect(inhibition.takeChanges()?.recent.map((r) => r.at)).toEqual([4, 5]);
    inhibition.observe(change(6, 'orange'));
    expect(inhibition.takeChanges()?.recent.map((r) => r.at)).toEqual([6]);
  });
});
