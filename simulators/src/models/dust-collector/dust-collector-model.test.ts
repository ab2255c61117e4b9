import { describe, expect, it } from 'vitest';
import { runInEngine } from '../../run/run-in-engine.js';
import { scenarioActions } from '../../run/run-virtual.js';
import { alarmsFromEvents } from '../../scenario/expectations.js';
import { parseScenario } from '../../scenario/load-scenario.js';

describe('a wet dust collector', () => {
  // the tank drains 0.05 m/min from 0.6 m: empty after 12 min, then 18 min more with the leak still open
  const drained = parseScenario(
    'name: t\nprofile: dust-collector\nduration: 40m\n' +
      'devices: [{ id: dc-05, site: plant-b, profile: dust-collector, attributes: { collector_type: wet } }]\n' +
      'timeline: [{ at: 5m, for: 30m, device: dc-05, do: event, name: water_loss }]\n',
    't.yaml',
  );

  it('loses its circulation as the tank runs dry, and its level transmitter never reads below an empty tank', () => {
    for (const seed of [1, 2, 3]) {
      const readings = [...scenarioActions(drained, seed)].flatMap((a) =>
        a.kind === 'publish' && a.role === 'telemetry' ? [JSON.parse(a.payload).metrics] : [],
      );
      expect(Math.min(...readings.map((m) => m.water_level)), `seed ${seed}`).toBe(0);
      expect(Math.min(...readings.map((m) => m.circulation_flow)), `seed ${seed}`).toBe(0);
      const raised = alarmsFromEvents(runInEngine(drained, { seed }).events).map((a) => `${a.rule} ${a.severity}`);
      expect(raised, `seed ${seed}`).toEqual(expect.arrayContaining(['water_level_low orange', 'circulation_flow_low red']));
      expect(
        raised.filter((r) => r.startsWith('sensor_fault')),
        `seed ${seed}`,
      ).toEqual([]);
    }
  });
});
