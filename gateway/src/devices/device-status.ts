import { countedAt, type MetricValue } from '../../../rules/src/index.js';
import type { RejectionReason } from '../ingest/rejection.js';

export interface DeviceStatus {
  /** At least one MQTT connection of the device is open. */
  online: boolean;
  /** Open MQTT connections (ClientId `{deviceId}` or `{deviceId}:{suffix}`). */
  connections: number;
  /** What the device last said on its status topic (`online`/`offline`), if anything. */
  reported: 'online' | 'offline' | null;
  connectedAt: number | null;
  lastSeen: number | null;
  lastReadingTs: number | null;
  lastValues: Record<string, MetricValue>;
  /** Payloads and readings of the device refused since start-up, per reason code (absent: none). */
  rejections: Partial<Record<RejectionReason, number>>;
}

/** Live state of devices as the API shows it: connection, last seen, last values. */
export interface DeviceStatusBook {
  get(id: string): DeviceStatus;
  /** One more connection of the device is ready (called once per connection). */
  connected(id: string, at: number): void;
  /** One connection of the device closed (called once per connection that was ready). */
  disconnected(id: string): void;
  reported(id: string, status: 'online' | 'offline', at: number): void;
  readingStored(id: string, ts: number, metrics: Record<string, MetricValue>, at: number): void;
  /** A payload or reading of the device was refused (counted per reason). */
  rejected(id: string, reason: RejectionReason): void;
}

/** A device nothing has been seen of: offline, never connected, no values. */
export function unseenDeviceStatus(): DeviceStatus {
  return {
    online: false,
    connections: 0,
    reported: null,
    connectedAt: null,
    lastSeen: null,
    lastReadingTs: null,
    lastValues: {},
    rejections: {},
  };
}

export function createDeviceStatusBook(): DeviceStatusBook {
  const statuses = new Map<string, DeviceStatus>();
  const get = (id: string): DeviceStatus => {
    let status = statuses.get(id);
    if (!status) {
      status = unseenDeviceStatus();
      statuses.set(id, status);
    }
    return status;
  };
  return {
    get,
    connected(id, at) {
      const status = get(id);
      status.connections += 1;
      status.online = true;
      status.connectedAt = at;
      status.lastSeen = at;
    },
    disconnected(id) {
      // A device with two connections stays online while either is open.
      const status = get(id);
      status.connections = Math.max(0, status.connections - 1);
      status.online = status.connections > 0;
    },
    reported(id, reported, at) {
      const status = get(id);
      status.reported = reported;
      status.lastSeen = at;
    },
    readingStored(id, stamped, metrics, at) {
      const status = get(id);
      status.lastSeen = at;
      // as the rule engine takes it: one reading stamped minutes ahead does not freeze the values shown until then
      const ts = countedAt(stamped, at);
      if (status.lastReadingTs === null || ts >= status.lastReadingTs) {
        status.lastReadingTs = ts;
        Object.assign(status.lastValues, metrics);
      }
    },
    rejected(id, reason) {
      const { rejections } = get(id);
      rejections[reason] = (rejections[reason] ?? 0) + 1;
    },
  };
}
