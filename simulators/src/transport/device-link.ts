import mqtt, { type MqttClient } from 'mqtt';
import { statusTopic } from '../run/action.js';

export interface DeviceLinkOptions {
  url: string;
  site: string;
  device: string;
  /** The device's secret from the registry: MQTT username = device id, password = secret (contract §1). */
  secret: string;
  /** Telemetry QoS; status is always QoS 1. */
  qos: 0 | 1;
  /** Reconnect on its own after a lost connection (real-time runs); virtual runs reconnect when told. */
  autoReconnectMs: number;
  connectTimeoutMs?: number;
  onReconnect?(): void;
  onError?(error: Error): void;
}

/** One device's MQTT connection: its own credentials, a retained `offline` Last Will, QoS 1 status. */
export interface DeviceLink {
  publish(topic: string, payload: string, retain: boolean): Promise<void>;
  /** Drops the connection without DISCONNECT, as a power cut does: the broker publishes the Last Will. */
  drop(): Promise<void>;
  /** Publishes a retained `offline` and disconnects cleanly. */
  close(): Promise<void>;
  readonly connected: boolean;
}

export async function openDeviceLink(options: DeviceLinkOptions): Promise<DeviceLink> {
  const status = statusTopic(options.site, options.device);
  const client: MqttClient = mqtt.connect(options.url, {
    protocolVersion: 4,
    clientId: options.device,
    username: options.device,
    password: options.secret,
    clean: true,
    keepalive: 60,
    reconnectPeriod: options.autoReconnectMs,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  await new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      client.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      client.off('connect', onConnect);
      client.end(true);
      reject(new Error(`${options.device}: cannot connect to ${options.url}: ${error.message}`));
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  client.on('reconnect', () => options.onReconnect?.());
  client.on('error', (error) => options.onError?.(error));

  return {
    async publish(topic, payload, retain) {
      await client.publishAsync(topic, payload, { qos: topic === status ? 1 : options.qos, retain });
    },
    async drop() {
      await client.endAsync(true);
    },
    async close() {
      if (client.connected) await client.publishAsync(status, 'offline', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync();
    },
    get connected() {
      return client.connected;
    },
  };
}
