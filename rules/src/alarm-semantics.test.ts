import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../test-support/harness.js';
import type { AlarmTransition } from './alarm.js';
import { createAlarmBook } from './alarm-book.js';
import type { MetricValue } from './reading.js';
import { createRuleEngine, type VerdictChange } from './rule-engine.js';

const SECOND = 1_000;
const MINUTE = 60_000;

/** The real engine and alarm book (flapping on, the defaults) driven in virtual time, as the gateway runs them. */
function plant(yaml: string, unitOf: (metric: string) => string | null = () => null) {
  const engine = createRuleEngine({ rules: ruleSetFromYaml(yaml), unitOf: (_p, m) => unitOf(m) });
  let n = 0;
  const book = createAlarmBook({ newAlarmId: () => `alm_${++n}` });
  const device = { site: 's', device: 'd', profile: 'p', attributes: {} };
  const events: AlarmTransition[] = [];
  const apply = (changes: readonly VerdictChange[]) => {
    for (const change of changes) events.push(...book.apply(change));
  };
  let now = 0;
  const advanceTo = (t: number) => {
    for (let due = engine.nextDueAt(); due !== null && due <= t; due = engine.nextDueAt()) apply(engine.tick(due));
    for (let due = book.nextDueAt(); due !== null && due <= t; due = book.nextDueAt()) events.push(...book.tick(due));
    now = t;
  };
  return {
    engine,
    book,
    events,
    read(t: number, metrics: Record<string, MetricValue>) {
      advanceTo(t);
      apply(engine.onReading({ site: 's', device: 'd', profile: 'p', ts: t, metrics }, device).changes);
    },
    advanceTo,
    /** `type severity @s` of each event, offsets in seconds. */
    timeline: () => events.map((e) => `${e.type.replace('alarm.', '')} ${e.alarm.severity} @${e.at / SECOND}s`),
    get now() {
      return now;
    },
  };
}

const gas = (onDelay: string) => `
profile: p
rules:
  - id: h2s_high
    kind: threshold
    metric: h2s
    name: Hydrogen sulfide
    name_zh: 硫化氢
    levels:
      orange: { raise: 7, clear: 6 }
      red: { raise: 14, clear: 12 }
    onDelay: ${onDelay}
    source: test
`;

describe('alarm semantics a plant engineer can trust (issue 11)', () => {
  it('4. a gas level crossed on the way to the next is shown at once, then the next: each level its own transition', () => {
    const p = plant(gas('0s'));
    p.read(0, { h2s: 0 });
    p.read(5 * SECOND, { h2s: 20 });
    expect(p.timeline()).toEqual(['raised orange @5s', 'escalated red @5s']);
  });

  it('4. with an on-delay each level keeps its own: orange 2 s after it was reached, red 2 s after red was', () => {
    const p = plant(gas('2s'));
    p.read(0, { h2s: 0 });
    p.read(1 * SECOND, { h2s: 8 });
    p.read(2 * SECOND, { h2s: 15 });
    p.advanceTo(10 * SECOND);
    // before: one shared on-delay from the first crossing, orange never shown, red at 3 s
    expect(p.timeline()).toEqual(['raised orange @3s', 'escalated red @4s']);
  });

  it('5. one excursion through three levels and back is not flapping', () => {
    const p = plant(`
profile: p
rules:
  - { id: t, kind: threshold, metric: x, levels: { yellow: { raise: 60 }, orange: { raise: 70 }, red: { raise: 80 } }, source: test }
`);
    [50, 65, 75, 85, 75, 65, 50].forEach((x, i) => {
      p.read(i * 10 * SECOND, { x });
    });
    expect(p.events.map((e) => e.type)).toEqual([
      'alarm.raised',
      'alarm.escalated',
      'alarm.escalated',
      'alarm.deescalated',
      'alarm.deescalated',
      'alarm.cleared',
    ]);
    expect(p.book.list({ state: 'all' })[0]?.flapping).toBeUndefined();
  });

  it('5. repeated raise/clear cycles within 10 min are flapping, and so is oscillation around one level', () => {
    const levels = `
profile: p
rules:
  - { id: t, kind: threshold, metric: x, levels: { yellow: { raise: 60 }, orange: { raise: 70 } }, source: test }
`;
    const cycling = plant(levels);
    [50, 65, 50, 65, 50, 65, 50].forEach((x, i) => {
      cycling.read(i * 30 * SECOND, { x });
    });
    expect(cycling.events.map((e) => e.type)).toContain('alarm.flapping');
    const oscillating = plant(levels);
    [65, 75, 65, 75, 65, 75, 65].forEach((x, i) => {
      oscillating.read(i * 30 * SECOND, { x });
    });
    expect(oscillating.events.map((e) => e.type)).toContain('alarm.flapping');
  });

  it('6. a rate alarm reports the rate and its unit; its clear reports the rate at the clear, in Chinese too', () => {
    const p = plant(
      `
profile: p
rules:
  - id: hopper_temp_rising
    kind: rate
    metric: hopper_temp
    name: Hopper temperature
    name_zh: 灰斗温度
    direction: rise
    window: 1m
    per: 1m
    levels: { orange: { raise: 5, clear: 3 } }
    source: test
`,
      () => '°C',
    );
    for (let s = 0; s <= 120; s += 10) p.read(s * SECOND, { hopper_temp: s <= 60 ? 30 + s / 5 : 42 });
    const [raised, cleared] = p.events;
    expect(raised?.type).toBe('alarm.raised');
    expect(raised?.alarm).toMatchObject({ value: 12, unit: '°C/min', threshold: 5 });
    expect(raised?.alarm.message).toBe('Hopper temperature rising 12 °C/min (limit 5 °C/min)');
    expect(raised?.alarm.messageZh).toBe('灰斗温度：上升速率 12 °C/min（限值 5 °C/min）');
    expect(cleared?.type).toBe('alarm.cleared');
    expect(cleared?.alarm).toMatchObject({ value: 2, unit: '°C/min', threshold: 3 });
    expect(cleared?.alarm.message).toMatch(/back to normal/);
    expect(cleared?.alarm.messageZh).toMatch(/恢复正常/);
  });

  it('6. a cleared event carries the clearing reading and text; previousSeverity describes each event', () => {
    const p = plant(
      `
profile: p
rules:
  - id: hopper_temp_high
    kind: threshold
    metric: hopper_temp
    name: Hopper temperature
    message_zh: "灰斗温度 {value} {unit} ≥ {threshold} {unit}"
    levels: { orange: { raise: 70, clear: 68 }, red: { raise: 80, clear: 78 } }
    source: test
`,
      () => '°C',
    );
    p.read(0, { hopper_temp: 72 });
    p.read(MINUTE, { hopper_temp: 95 });
    const id = p.book.list({ state: 'all' })[0]?.id as string;
    const ack = p.book.acknowledge(id, 'Wang', null, 2 * MINUTE);
    p.read(3 * MINUTE, { hopper_temp: 60 });
    const resolved = p.book.resolve(id, 'Wang', 'cleaned', 4 * MINUTE);
    const history = p.book.history(id);
    expect(history.map((t) => [t.type, t.alarm.severity, t.alarm.previousSeverity])).toEqual([
      ['alarm.raised', 'orange', null],
      ['alarm.escalated', 'red', 'orange'],
      ['alarm.acknowledged', 'red', 'red'],
      ['alarm.cleared', 'red', 'red'],
      ['alarm.resolved', 'red', 'red'],
    ]);
    expect(ack.ok && resolved.ok).toBe(true);
    const cleared = history[3]?.alarm;
    expect(cleared).toMatchObject({ value: 60, threshold: 68, unit: '°C' });
    expect(cleared?.message).toBe('Hopper temperature back to normal: 60 °C, below 68 °C');
    expect(history[1]?.alarm.messageZh).toBe('灰斗温度 95 °C ≥ 80 °C');
  });
});
