import type { Scenario } from '../scenario/scenario-schema.js';
import { type DeviceLink, openDeviceLink } from '../transport/device-link.js';
import type { DeviceAction } from './action.js';

export interface ActionPlayerOptions {
  /** The gateway's MQTT listener. */
  url: string;
  scenario: Scenario;
  secretOf(deviceId: string): string;
  qos: 0 | 1;
}

export interface ActionPlayer {
  /** Connects, disconnects (gracefully or dropping the connection, for the Last Will) or publishes; true if it published. */
  play(action: DeviceAction): Promise<boolean>;
  /** Ends every connection still open: with DISCONNECT (`graceful`), or dropped. */
  closeAll(graceful: boolean): Promise<void>;
}

/** Plays device actions through a real broker: every device its own MQTT client and credentials. */
export function createActionPlayer(options: ActionPlayerOptions): ActionPlayer {
  const sites = new Map(options.scenario.devices.map((device) => [device.id, device.site]));
  const links = new Map<string, DeviceLink>();
  return {
    async play(action) {
      const link = links.get(action.device);
      if (action.kind === 'connect') {
        links.set(
          action.device,
          await openDeviceLink({
            url: options.url,
            site: sites.get(action.device) ?? '',
            device: action.device,
            secret: options.secretOf(action.device),
            qos: options.qos,
            reconnect: false,
          }),
        );
        return false;
      }
      if (action.kind === 'disconnect') {
        links.delete(action.device);
        if (link) await (action.graceful ? link.close() : link.drop());
        return false;
      }
      if (!link) return false;
      await link.publish(action.topic, action.payload, action.retain);
      return true;
    },
    async closeAll(graceful) {
      const open = [...links.values()];
      links.clear();
      await Promise.all(open.map((link) => (graceful ? link.close().catch(() => link.drop()) : link.drop()).catch(() => undefined)));
    },
  };
}
