import type { MetricValue } from '../../../rules/src/index.js';
import type { Scenario, ScenarioDevice } from '../scenario/scenario-schema.js';

/** A device as a gateway's registry knows it (DEMO_DEVICES, a generated load list). */
export interface RegistryDevice {
  id: string;
  site: string;
  profile: string;
  name?: string | undefined;
  attributes?: Readonly<Record<string, MetricValue>> | undefined;
}

/**
 * The devices to simulate: the scenario's, or — when a registry list is given — exactly the listed ones,
 * each with the scenario's model settings when the scenario has it, and the registry's attributes on top.
 */
export function fleetDevices(scenario: Scenario | null, registry: readonly RegistryDevice[] | undefined): ScenarioDevice[] {
  if (!registry) return scenario?.devices ?? [];
  const byId = new Map((scenario?.devices ?? []).map((device) => [device.id, device]));
  return registry.map((device) => {
    const known = byId.get(device.id);
    return {
      id: device.id,
      site: device.site,
      profile: device.profile,
      name: device.name ?? known?.name,
      attributes: { ...(known?.attributes ?? {}), ...(device.attributes ?? {}) },
      model: known?.model ?? {},
      interval: known?.interval,
      batch: known?.batch ?? 1,
    };
  });
}
