const DEVICE_TOPIC = /^sites\/([A-Za-z0-9_-]{1,64})\/devices\/([A-Za-z0-9_-]{1,64})\/(.+)$/;

export type DeviceChannel = 'telemetry' | 'status';

export interface DeviceTopic {
  site: string;
  device: string;
  /** `telemetry`, `status`, or whatever else followed the device prefix. */
  channel: string;
}

/** Contract §1: `sites/{siteId}/devices/{deviceId}/{telemetry|status}`. */
export function parseDeviceTopic(topic: string): DeviceTopic | null {
  const match = DEVICE_TOPIC.exec(topic);
  if (!match) return null;
  return { site: match[1] as string, device: match[2] as string, channel: match[3] as string };
}

export const isKnownChannel = (channel: string): channel is DeviceChannel => channel === 'telemetry' || channel === 'status';

export const telemetryTopic = (site: string, device: string): string => `sites/${site}/devices/${device}/telemetry`;
export const statusTopic = (site: string, device: string): string => `sites/${site}/devices/${device}/status`;
