import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../gateway/src/config/load-config.js';
import { MODELS } from '../models/model-registry.js';
import { generateLoadDevices } from './load-devices.js';

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
