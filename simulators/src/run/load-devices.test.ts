import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../gateway/src/config/load-config.js';
import { MODELS } from '../models/model-registry.js';
import type { DeviceAction } from './action.js';
import { generateLoadDevices, loadModeScenario } from './load-devices.js';
import { scenarioActions } from './run-virtual.js';

describe('a generated load fleet', () => {
  it('is a registry the gateway takes, for every profile with a model (a power meter carries the production load its profile requires)', () => {
    for (const profile of MODELS.keys()) {
      const devices = generateLoadDevices({ profile, count: 3, sites: 2 });
      const config = validateConfig(
        { devices: devices.map(({ secret: _, ...device }) => ({ ...device, secretHash: 'sha256$c2FsdA==$aGFzaA==' })) },
        `(fleet of ${profile})`,
      );
      expect(config.devices.map((device) => [device.id, device.site])).toEqual([
        [`load-${profile}-1`, 'load-site-1'],
        [`load-${profile}-2`, 'load-site-2'],
        [`load-${profile}-3`, 'load-site-1'],
      ]);
    }
    expect(generateLoadDevices({ profile: 'power', count: 1 })[0]?.attributes).toEqual({ p_prod_kw: 400, contracted_kw: 630 });
  });
});

describe('load mode', () => {
  it('sends at the rate asked, spread over time, for every profile (not in bursts at wall-clock multiples)', () => {
    for (const profile of MODELS.keys()) {
      // 200 devices at 500 msg/s: each every 400 ms
      const scenario = loadModeScenario({ profile, devices: 200, rate: 500, duration: 10_000 });
      const start = Date.parse(scenario.start);
      // messages in each 100 ms of the 2 s from +2 s: 50 each at an even 500 msg/s
      const slices = new Array<number>(20).fill(0);
      for (const action of scenarioActions(scenario) as Iterable<DeviceAction>) {
        if (action.kind !== 'publish' || action.role !== 'telemetry' || action.at < start + 2_000 || action.at >= start + 4_000) continue;
        const slice = Math.floor((action.at - start - 2_000) / 100);
        slices[slice] = (slices[slice] as number) + 1;
      }
      const sent = slices.reduce((sum, n) => sum + n, 0);
      expect(sent, profile).toBeGreaterThan(950);
      expect(sent, profile).toBeLessThan(1_050);
      expect(Math.min(...slices), `${profile}: ${slices}`).toBeGreaterThanOrEqual(25);
      expect(Math.max(...slices), `${profile}: ${slices}`).toBeLessThanOrEqual(75);
    }
  });
});
