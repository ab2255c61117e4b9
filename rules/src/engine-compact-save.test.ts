import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';
import { sameJsonValue, stateDiff } from './engine/engine-snapshot.js';
import { ENGINE_SNAPSHOT_VERSION, type EngineChanges, type EngineSnapshot } from './rule-engine.js';

const MIN = 60_000;

/** One of each stateful kind, on two analog metrics and two states (as a dust collector has them). */
const RULES = `
profile: p
rules:
  - { id: temp_high, kind: threshold, metric: temp, source: s, levels: { yellow: { raise: 60, clear: 58 }, orange: { raise: 70, clear: 68 } } }
  - { id: dp_high, kind: threshold, metric: dp, onDelay: 2m, offDelay: 1m, source: s, levels: { yellow: { raise: 1500, clear: 1450 } } }
  - { id: bag_rupture, kind: threshold, metric: dp, direction: below, when: fan, onDelay: 1m, source: s, levels: { orange: { raise: 250, clear: 300 } } }
  - { id: heating, kind: rate, metric: temp, direction: rise, window: 2m, per: 1m, source: s, levels: { orange: { raise: 5, clear: 3 } } }
  - { id: dp_avg, kind: window, metric: dp, aggregate: avg, window: 15m, buckets: 15, source: s, levels: { yellow: { raise: 1600, clear: 1550 } } }
  - { id: dp_stuck, kind: stuck, metric: dp, window: 10m, when: fan, source: s }
  - { id: sensor_fault, kind: range, source: s }
  - { id: fan_off, kind: expression, condition: "proc and not fan", severity: orange, onDelay: 30s, source: s }
  - { id: silent, kind: silence, ladder: [{ after: 5m, severity: yellow }, { after: 15m, severity: orange }], source: s }
`;
const RANGES: Record<string, { min: number; max: number }> = { temp: { min: -40, max: 400 }, dp: { min: 0, max: 6000 } };
const newHarness = () => harness(RULES, { deps: { rangeOf: (_p, metric) => RANGES[metric] ?? null } });

type Step = { kind: 'read'; dt: number; temp: number; dp: number; fan: boolean; proc: boolean } | { kind: 'tick'; dt: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('read' as const),
    dt: fc.integer({ min: 0, max: 3 * MIN }),
    temp: fc.oneof(fc.integer({ min: 20, max: 90 }), fc.constant(500)),
    dp: fc.oneof(fc.integer({ min: 100, max: 2000 }), fc.constant(1200)),
    fan: fc.boolean(),
    proc: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 10 * MIN }) }),
);

/** The state a store keeps: each device's latest entry from takeChanged, as JSON text read back. */
function storedFrom(changes: EngineChanges[]): EngineSnapshot {
  const devices = new Map<string, EngineSnapshot['devices'][number]>();
  for (const part of changes) for (const { key, state } of part.devices) devices.set(key, JSON.parse(JSON.stringify(state)));
  return { version: ENGINE_SNAPSHOT_VERSION, devices: [...devices.values()], groups: [] };
}
const asJson = (snapshot: EngineSnapshot): unknown => JSON.parse(JSON.stringify(snapshot));

describe('what a store saves of a device: each rule state as its changes from the initial state (snapshot version 5)', () => {
  it('an engine restored from the saves is the engine that never stopped, and judges what follows the same (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), fc.array(step, { maxLength: 10 }), (before, after) => {
        const a = newHarness();
        let now = 0;
        a.engine.registerDevice(a.device, now);
        const saves = [a.engine.takeChanged()];
        for (const s of before) {
          now += s.dt;
          if (s.kind === 'read') a.read(now, { temp: s.temp, dp: s.dp, fan: s.fan, proc: s.proc });
          else a.tick(now);
          saves.push(a.engine.takeChanged());
        }
        const b = newHarness();
        b.engine.restore(storedFrom(saves), now, 0);
        expect(asJson(b.engine.snapshot())).toEqual(asJson(a.engine.snapshot()));
        for (const s of after) {
          now += s.dt;
          const metrics = s.kind === 'read' ? { temp: s.temp, dp: s.dp, fan: s.fan, proc: s.proc } : null;
          const [x, y] = [a, b].map((h) => (metrics ? h.read(now, metrics) : h.tick(now)));
          expect(y).toEqual(x);
        }
      }),
      { numRuns: 150 },
    );
    // 150 runs of up to 50 steps: ~3 s alone, more beside the suite's other files on 2 cores
  }, 30_000);

  it('saves a rule that only took a value as that value alone, and a device entry well under the size of the whole', () => {
    const h = newHarness();
    h.engine.registerDevice(h.device, 0);
    for (let t = 1; t <= 5; t += 1) h.read(t * 30_000, { temp: 30 + t, dp: 1_100 + t, fan: true, proc: true });
    const saved = storedFrom([h.engine.takeChanged()]).devices[0];
    const whole = h.engine.snapshot().devices[0];
    const temp = saved?.rules.find((r) => r.id === 'temp_high');
    // no `state`, and none of the fields that hold their defaults (status 'false', no severity)
    expect(Object.keys(temp ?? {}).sort()).toEqual(['diff', 'fp', 'id']);
    expect(temp?.diff).toEqual({ value: 35 });
    // the whole snapshot (the API's, a backtest's) still carries every state whole
    expect(whole?.rules.find((r) => r.id === 'temp_high')).toHaveProperty('state.lv.level', null);
    expect(JSON.stringify(saved).length).toBeLessThan(0.7 * JSON.stringify(whole).length);
  });

  it('a raised rule saves its level state, and an engine restored from it clears it as the original does', () => {
    const h = newHarness();
    h.engine.registerDevice(h.device, 0);
    h.read(MIN, { temp: 75, dp: 1_100, fan: true, proc: true });
    expect(h.state('temp_high')).toBe('orange');
    const saved = h.engine.takeChanged();
    expect(saved.devices[0]?.state.rules.find((r) => r.id === 'temp_high')?.diff).toHaveProperty('lv.level', 'orange');
    const again = newHarness();
    again.engine.restore(storedFrom([saved]), 2 * MIN, 0);
    const cleared = again.read(2 * MIN, { temp: 40, dp: 1_100, fan: true, proc: true }).filter((c) => c.rule === 'temp_high');
    expect(cleared.map((c) => c.verdict.status)).toEqual(['false']);
  });
});

describe('stateDiff and sameJsonValue', () => {
  it('keeps only the keys that differ, and the whole state when a key of the initial state is gone or it is not an object', () => {
    expect(stateDiff({ a: 1, b: [1, 2], c: { x: null } }, { a: 1, b: [1, 2], c: { x: 1 } })).toEqual({ c: { x: null } });
    expect(stateDiff({ a: 1, extra: true }, { a: 1 })).toEqual({ extra: true });
    expect(stateDiff({ a: 1 }, { a: 1, b: null })).toBeNull();
    expect(stateDiff([1], [1])).toBeNull();
    expect(stateDiff(3, 3)).toBeNull();
  });

  it('two values are the same exactly when JSON writes them the same, keys in any order (property)', () => {
    const canonical = (value: unknown): string =>
      JSON.stringify(value, (_key, v: unknown) =>
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
          : v,
      );
    const value = fc.jsonValue({ maxDepth: 3 });
    // pairs that are often equal: a value against itself shuffled or slightly changed
    const pair = fc.oneof(
      fc.tuple(value, value),
      value.map((v) => [v, JSON.parse(JSON.stringify(v))] as [unknown, unknown]),
      fc.tuple(value, fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, null, undefined)),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        expect(sameJsonValue(a ?? null, b ?? null)).toBe(canonical(a ?? null) === canonical(b ?? null));
      }),
      { numRuns: 2_000 },
    );
  }, 30_000);
});
