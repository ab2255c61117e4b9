import { describe, expect, it } from 'vitest';
import { unexplainedLooseWindows } from './expectation-windows.js';
import { listScenarios, loadScenario, parseScenario } from './load-scenario.js';

const scenarioWith = (expectLines: string): string => `
name: windows
profile: mine-slope
duration: 4d
devices: [{ id: slope-01, site: mine-a, profile: mine-slope }]
expect:
${expectLines}
`;

describe('expectation windows', () => {
  it('every shipped expectation longer than 12 h says in a note why', () => {
    const loose = listScenarios().flatMap((name) => unexplainedLooseWindows(loadScenario(name)).map((where) => `${name}: ${where}`));
    expect(loose).toEqual([]);
  });

  it('flags a window over 12 h without a note, and passes 12 h or a noted longer window', () => {
    const scenario = parseScenario(
      scenarioWith(`  - { device: slope-01, rule: velocity_24h, severity: orange, at: 2d, within: 3d }
  - { device: slope-01, rule: crack_growth, severity: yellow, at: 2d, within: 12h }
  - { device: slope-01, rule: tangent_angle, severity: yellow, at: 2d, within: 13h, note: "slow acceleration against GNSS noise" }
  - { device: slope-01, rule: crack_width_high, severity: orange, at: 2d, within: 721m, note: "  " }`),
      'windows.yaml',
    );
    expect(unexplainedLooseWindows(scenario)).toEqual(['expect[0] slope-01/velocity_24h', 'expect[3] slope-01/crack_width_high']);
  });
});
