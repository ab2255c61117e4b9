import { describe, expect, it } from 'vitest';
import { alarmsFromEvents } from '../scenario/expectations.js';
import { parseScenario } from '../scenario/load-scenario.js';
import { runInEngine } from './run-in-engine.js';
import { scenarioActions } from './run-virtual.js';

describe('a scenario straight into the engine', () => {
  it('takes the readings of a restarted device (seq again from 0, newer times) and drops only true duplicates', () => {
    // a power cut of 5 min, then a minute of QoS 1 redelivery: the same (seq, ts) twice
    const scenario = parseScenario(
      'name: t\nprofile: dust-collector\nduration: 30m\n' +
        'devices: [{ id: dc-01, site: plant-a, profile: dust-collector }]\n' +
        'timeline: [{ at: 5m, do: offline, for: 5m }, { at: 20m, for: 1m, do: duplicate, every: 1 }]\n',
      't.yaml',
    );
    const published = [...scenarioActions(scenario)].filter((a) => a.kind === 'publish' && a.role === 'telemetry').length;
    const run = runInEngine(scenario);
    expect(run.readings).toBe(published);
    // silent during the cut, and seen again after it
    const silent = alarmsFromEvents(run.events).filter((a) => a.rule === 'device_silent');
    expect(silent).toHaveLength(1);
    expect(silent[0]?.clearedAt).not.toBeNull();
  });
});
