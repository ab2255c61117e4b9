import { MODELS } from '../models/model-registry.js';
import { type Scenario, scenarioSchema } from '../scenario/scenario-schema.js';
import type { RegistryDevice } from './fleet-devices.js';

export interface LoadDeviceOptions {
  profile: string;
  count: number;
  /** Devices are spread round-robin over this many sites (default 1 per 100 devices). */
  sites?: number;
  /** Device ids are `<prefix>-<n>`; default `load-<profile>`. */
  prefix?: string;
  /** A device's secret; default `load-<id>`. */
  secretOf?(id: string): string;
}

export interface LoadDevice extends RegistryDevice {
  secret: string;
}

/**
 * A generated fleet for load runs: the same list goes to the gateway's config (hash the secrets) and to
 * `startFleet` (`secretOf: (id) => secrets.get(id)`).
 */
export function generateLoadDevices(options: LoadDeviceOptions): LoadDevice[] {
  const model = MODELS.get(options.profile);
  if (!model) throw new Error(`no simulator model for profile "${options.profile}" (known: ${[...MODELS.keys()].join(', ')})`);
  const attributes = model.registryAttributes;
  const sites = Math.max(1, options.sites ?? Math.ceil(options.count / 100));
  const prefix = options.prefix ?? `load-${options.profile}`;
  const width = String(options.count).length;
  const secretOf = options.secretOf ?? ((id: string) => `load-${id}`);
  return Array.from({ length: options.count }, (_, i) => {
    const id = `${prefix}-${String(i + 1).padStart(width, '0')}`;
    return {
      id,
      site: `load-site-${(i % sites) + 1}`,
      profile: options.profile,
      secret: secretOf(id),
      ...(attributes ? { attributes: { ...attributes } } : {}),
    };
  });
}

export interface LoadModeOptions {
  profile: string;
  devices: number;
  /** Messages per second across the fleet. */
  rate: number;
  sites?: number | undefined;
  seed?: number | undefined;
  duration?: number | undefined;
}

/**
 * Load mode (`simulate --profile … --devices N --rate R`): the generated fleet as a scenario, every device reporting
 * at the one interval that gives R messages a second across the fleet.
 */
export function loadModeScenario(options: LoadModeOptions): Scenario {
  const devices = generateLoadDevices({ profile: options.profile, count: options.devices, sites: options.sites });
  const intervalMs = Math.max(10, Math.round((options.devices / options.rate) * 1000));
  return scenarioSchema.parse({
    name: `load-${options.profile}`,
    profile: options.profile,
    seed: options.seed ?? 1,
    duration: options.duration ?? 365 * 86_400_000,
    devices: devices.map(({ id, site, profile }) => ({ id, site, profile, interval: intervalMs })),
  });
}
