import type { DeviceContext, MetricValue } from '../../../rules/src/index.js';
import type { DeviceConfig } from '../config/config-schema.js';

export interface RegisteredDevice {
  id: string;
  site: string;
  profile: string;
  name: string | null;
  secretHash: string;
  attributes: Record<string, MetricValue>;
  context: DeviceContext;
  /** `sites/{site}/devices/{id}/`, the only namespace the device may publish under. */
  topicPrefix: string;
}

export interface DeviceRegistry {
  get(id: string): RegisteredDevice | undefined;
  all(): Iterable<RegisteredDevice>;
  readonly size: number;
}

/** The registry; devices without `secretHash` (the telemetry lane's copy) have none to check against. */
export function createDeviceRegistry(devices: ReadonlyArray<Omit<DeviceConfig, 'secretHash'> & { secretHash?: string }>): DeviceRegistry {
  const byId = new Map<string, RegisteredDevice>();
  for (const device of devices) {
    byId.set(device.id, {
      id: device.id,
      site: device.site,
      profile: device.profile,
      name: device.name ?? null,
      secretHash: device.secretHash ?? '',
      attributes: device.attributes,
      context: { site: device.site, device: device.id, profile: device.profile, attributes: device.attributes },
      topicPrefix: `sites/${device.site}/devices/${device.id}/`,
    });
  }
  return {
    get: (id) => byId.get(id),
    all: () => byId.values(),
    get size() {
      return byId.size;
    },
  };
}
