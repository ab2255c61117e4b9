import { describe, expect, it } from 'vitest';
import { listScenarios, loadScenario, parseScenario, ScenarioError } from './load-scenario.js';

const PROFILES = ['dust-collector', 'deep-well-casting', 'confined-space', 'mine-slope', 'tailings-dam', 'power'];

describe('scenarios', () => {
  it('ships a valid demo and, for every profile, normal, drift, burst, fault, offline and compound scenarios', () => {
    const names = listScenarios();
    expect(names).toContain('demo');
    for (const profile of PROFILES) {
      for (const kind of ['normal', 'drift', 'burst', 'fault', 'offline', 'compound']) expect(names).toContain(`${profile}-${kind}`);
    }
    for (const name of names) expect(() => loadScenario(name), name).not.toThrow();
  });

  it('covers every profile in the demo', () => {
    expect(new Set(loadScenario('demo').devices.map((d) => d.profile))).toEqual(new Set(PROFILES));
  });

  it('lists every problem with its path', () => {
    const text = `
name: broken
profile: dust-collector
duration: soon
devices:
  - { id: dc-01, site: plant-a, profile: dust-collector }
  - { id: dc-01, site: plant-a, profile: dust-collector }
timeline:
  - { at: 1m, device: dc-09, do: drift, metric: hopper_temp, rate: fast }
expect:
  - { device: dc-01, rule: hopper_temp_high, severity: purple, within: 1m }
`;
    let error: ScenarioError | null = null;
    try {
      parseScenario(text, 'broken.yaml');
    } catch (e) {
      error = e as ScenarioError;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const problems = error?.problems.join('\n') ?? '';
    expect(problems).toContain('broken.yaml: duration: expected a duration');
    expect(problems).toContain('timeline[0].rate');
    expect(problems).toContain('expect[0].severity');
  });

  it('refuses a physical event the device model does not know', () => {
    const text = `
name: bad-event
profile: dust-collector
duration: 10m
devices: [{ id: dc-01, site: plant-a, profile: dust-collector }]
timeline: [{ at: 1m, do: event, name: pump_trip }]
`;
    expect(() => parseScenario(text, 'bad-event.yaml')).toThrow(/know no event "pump_trip"/);
  });
});
