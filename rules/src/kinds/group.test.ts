import { describe, expect, it } from 'vitest';
import { ruleSetFromYaml } from '../../test-support/harness.js';
import type { DeviceContext } from '../reading.js';
import { createRuleEngine, type VerdictChange } from '../rule-engine.js';

const tailings = `
profile: tailings-dam
rules:
  - id: phreatic
    kind: threshold
    metric: phreatic_depth
    direction: below
    levels:
      blue: { raise: 13 }
      yellow: { raise: 12 }
      orange: { raise: 11 }
      red: { raise: 10 }
    source: GB 51108-2015
  - id: phreatic_item
    kind: group
    members: { profiles: [tailings-dam], rules: [phreatic] }
    groupBy: item
    levels:
      - { count: 4, atLeast: blue, severity: yellow }
      - { count: 3, atLeast: yellow, severity: orange }
      - { count: 2, atLeast: orange, severity: red }
    source: GB 51108-2015 aggregation within one monitoring item
`;

const piezometer = (n: number, item = 'phreatic'): DeviceContext => ({
  site: 'dam',
  device: `pz-${n}`,
  profile: 'tailings-dam',
  attributes: { item },
});

describe('group', () => {
  it('4 blue points ⇒ item yellow, 3 yellow ⇒ orange, 2 orange ⇒ red; back to normal when points recover', () => {
    const engine = createRuleEngine({ rules: ruleSetFromYaml(tailings), unitOf: () => 'm' });
    const all: VerdictChange[] = [];
    const read = (n: number, depth: number, ts: number) =>
      all.push(
        ...engine.onReading(
          { site: 'dam', device: `pz-${n}`, profile: 'tailings-dam', ts, metrics: { phreatic_depth: depth } },
          piezometer(n),
        ).changes,
      );
    const item = () => engine.verdicts().find((v) => v.key === 'dam/phreatic/phreatic_item');
    for (let n = 1; n <= 3; n += 1) read(n, 12.5, 0);
    expect(item()).toBeUndefined();
    read(4, 12.5, 1);
    expect(item()).toMatchObject({ status: 'true', severity: 'yellow' });
    const raised = all.find((c) => c.rule === 'phreatic_item');
    expect(raised).toMatchObject({ key: 'dam/phreatic/phreatic_item', device: 'phreatic', site: 'dam', profile: 'tailings-dam' });
    for (let n = 1; n <= 3; n += 1) read(n, 11.5, 2);
    expect(item()).toMatchObject({ severity: 'orange' });
    read(1, 10.5, 3);
    read(2, 10.5, 3);
    expect(item()).toMatchObject({ severity: 'red' });
    for (let n = 1; n <= 4; n += 1) read(n, 14, 4);
    expect(item()).toBeUndefined();
    expect(all.filter((c) => c.rule === 'phreatic_item').map((c) => (c.verdict.status === 'true' ? c.verdict.severity : 'false'))).toEqual([
      'yellow',
      'orange',
      'red',
      'false',
    ]);
  });

  it('keeps monitoring items apart', () => {
    const engine = createRuleEngine({ rules: ruleSetFromYaml(tailings), unitOf: () => 'm' });
    for (let n = 1; n <= 4; n += 1) {
      const ctx = piezometer(n, n <= 2 ? 'a' : 'b');
      engine.onReading({ site: 'dam', device: ctx.device, profile: 'tailings-dam', ts: 0, metrics: { phreatic_depth: 12.5 } }, ctx);
    }
    expect(engine.verdicts().filter((v) => v.key.endsWith('/phreatic_item'))).toEqual([]);
  });

  it('site condition: every safety monitor silent while the power meter shows production ⇒ faked offline', () => {
    const rules = ruleSetFromYaml(
      `
profile: dust-collector
rules:
  - id: silent
    kind: silence
    ladder: [{ after: 15m, severity: yellow }]
    source: test
`,
      `
profile: power
rules:
  - id: faked_offline
    kind: group
    members: { profiles: [dust-collector, confined-space], rules: [silent] }
    require: all
    atLeast: yellow
    severity: orange
    while: { profiles: [power], condition: "active_power > 0.3 * attr.p_prod_kw" }
    source: test
`,
    );
    const engine = createRuleEngine({ rules, unitOf: () => null });
    const dc1: DeviceContext = { site: 'plant', device: 'dc-1', profile: 'dust-collector', attributes: {} };
    const dc2: DeviceContext = { site: 'plant', device: 'dc-2', profile: 'dust-collector', attributes: {} };
    const meter: DeviceContext = { site: 'plant', device: 'pm', profile: 'power', attributes: { p_prod_kw: 100 } };
    engine.registerDevice(dc1, 0);
    engine.registerDevice(dc2, 0);
    engine.onReading({ site: 'plant', device: 'pm', profile: 'power', ts: 0, metrics: { active_power: 80 } }, meter);
    engine.onReading({ site: 'plant', device: 'dc-2', profile: 'dust-collector', ts: 10 * 60_000, metrics: { x: 1 } }, dc2);
    const site = () => engine.verdicts().find((v) => v.key === 'plant/_site/faked_offline');
    engine.tick(16 * 60_000);
    expect(site()).toBeUndefined();
    const changes = engine.tick(26 * 60_000);
    expect(site()).toMatchObject({ status: 'true', severity: 'orange' });
    expect(changes.find((c) => c.rule === 'faked_offline')).toMatchObject({ device: '_site', profile: 'power' });
    const idle = engine.onReading({ site: 'plant', device: 'pm', profile: 'power', ts: 27 * 60_000, metrics: { active_power: 5 } }, meter);
    expect(idle.changes.find((c) => c.rule === 'faked_offline')?.verdict.status).toBe('false');
  });

  it('registers a whole site at once with the same outcome as one device at a time', () => {
    const build = () => createRuleEngine({ rules: ruleSetFromYaml(tailings), unitOf: () => 'm' });
    const points = Array.from({ length: 200 }, (_, i) => piezometer(i, i % 2 === 0 ? 'north' : 'south'));
    const one = build();
    const oneByOne = points.flatMap((point) => one.registerDevice(point, 0));
    const batch = build();
    const together = batch.registerDevices(points, 0);
    expect(together).toEqual(oneByOne);
    const shallow = (engine: ReturnType<typeof build>) => {
      for (let n = 0; n < 8; n += 2)
        engine.onReading({ site: 'dam', device: `pz-${n}`, profile: 'tailings-dam', ts: 1, metrics: { phreatic_depth: 12.5 } }, points[n]!);
      return engine.verdicts().filter((v) => v.key.endsWith('phreatic_item'));
    };
    expect(shallow(batch)).toEqual(shallow(one));
    expect(shallow(batch)).toEqual([expect.objectContaining({ key: 'dam/north/phreatic_item', severity: 'yellow' })]);
  });

  it('a group rule has delays of its own: raised after its on-delay, cleared after its off-delay, from the clock alone', () => {
    const delayed = tailings.replace(
      '    source: GB 51108-2015 aggregation within one monitoring item',
      '    onDelay: 10m\n    offDelay: 30m\n    source: GB 51108-2015 aggregation within one monitoring item',
    );
    const engine = createRuleEngine({ rules: ruleSetFromYaml(delayed), unitOf: () => 'm' });
    const all: VerdictChange[] = [];
    const read = (n: number, depth: number, ts: number) =>
      all.push(
        ...engine.onReading(
          { site: 'dam', device: `pz-${n}`, profile: 'tailings-dam', ts, metrics: { phreatic_depth: depth } },
          piezometer(n),
        ).changes,
      );
    const item = () => {
      // what the alarm shows: pending moves and a called-off move (pending → false) are not transitions
      const shown: string[] = [];
      let open = false;
      for (const c of all) {
        if (c.rule !== 'phreatic_item' || c.verdict.status === 'pending' || (c.verdict.status === 'false' && !open)) continue;
        open = c.verdict.status === 'true';
        shown.push(`${c.verdict.status === 'true' ? c.verdict.severity : 'false'} @${c.at / 60_000}m`);
      }
      return shown;
    };
    for (let n = 1; n <= 4; n += 1) read(n, 12.5, 0);
    // a blip shorter than the on-delay raises nothing
    read(1, 14, 5 * 60_000);
    read(1, 12.5, 6 * 60_000);
    expect(item()).toEqual([]);
    const due = engine.nextDueAt() as number;
    expect(due).toBe(16 * 60_000);
    all.push(...engine.tick(due));
    expect(item()).toEqual(['yellow @16m']);
    for (let n = 1; n <= 4; n += 1) read(n, 14, 20 * 60_000);
    all.push(...engine.tick(49 * 60_000));
    expect(item()).toEqual(['yellow @16m']);
    // the snapshot keeps the pending clear
    const again = createRuleEngine({ rules: ruleSetFromYaml(delayed), unitOf: () => 'm' });
    again.restore(JSON.parse(JSON.stringify(engine.snapshot())), 49 * 60_000);
    expect(again.nextDueAt()).toBe(50 * 60_000);
    all.push(...again.tick(50 * 60_000));
    expect(item()).toEqual(['yellow @16m', 'false @50m']);
  });

  it('a restore keeps the group state of two profiles whose group rules share an id but not a definition', () => {
    const other = tailings
      .replace('profile: tailings-dam', 'profile: tailings-b')
      .replace('profiles: [tailings-dam]', 'profiles: [tailings-b]')
      .replace('count: 4, atLeast: blue', 'count: 2, atLeast: blue');
    const rules = () => ruleSetFromYaml(tailings, other);
    const engine = createRuleEngine({ rules: rules(), unitOf: () => 'm' });
    const read = (site: string, profile: string, n: number) =>
      engine.onReading(
        { site, device: `pz-${n}`, profile, ts: 0, metrics: { phreatic_depth: 12.5 } },
        { site, device: `pz-${n}`, profile, attributes: { item: 'phreatic' } },
      );
    for (let n = 1; n <= 4; n += 1) read('dam', 'tailings-dam', n);
    for (let n = 1; n <= 2; n += 1) read('dam-b', 'tailings-b', n);
    const groupsOf = (e: typeof engine) => e.verdicts().filter((v) => v.key.endsWith('/phreatic_item'));
    expect(groupsOf(engine)).toEqual([
      { key: 'dam/phreatic/phreatic_item', status: 'true', severity: 'yellow' },
      { key: 'dam-b/phreatic/phreatic_item', status: 'true', severity: 'yellow' },
    ]);
    const again = createRuleEngine({ rules: rules(), unitOf: () => 'm' });
    expect(again.restore(JSON.parse(JSON.stringify(engine.snapshot())), 1_000)).toEqual([]);
    expect(groupsOf(again)).toEqual(groupsOf(engine));
  });
});
