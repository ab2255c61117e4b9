import mqtt, { type MqttClient } from 'mqtt';
import { statusTopic } from '../run/action.js';
import { type BackoffOptions, createBackoff } from './backoff.js';

export interface DeviceLinkOptions {
  url: string;
  site: string;
  device: string;
  /** The device's secret from the registry: MQTT username = device id, password = secret (contract §1). */
  secret: string;
  /** Telemetry QoS; status is always QoS 1. */
  qos: 0 | 1;
  /**
   * Reconnect on its own after a lost connection, waiting with exponential backoff and jitter (real-time runs);
   * `false`: virtual runs, which reconnect when told.
   */
  reconnect: BackoffOptions | false;
  connectTimeoutMs?: number;
  onReconnect?(): void;
  onError?(error: Error): void;
}

/**
 * One device's MQTT connection: its own credentials, a retained `offline` Last Will, QoS 1 status. After a lost
 * connection it announces a retained `online` again as it reconnects: the broker published its Last Will when the
 * connection dropped, and the status topic is the device's retained announcement (contract §1).
 */
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
    // mqtt.js reconnects at a fixed period; the link schedules its own attempts (below)
    reconnectPeriod: 0,
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  await new Promise<void>((resolve, reject) => {
    const settle = (error: Error | null): void => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      if (error === null) {
        resolve();
        return;
      }
      client.end(true);
      reject(new Error(`${options.device}: cannot connect to ${options.url}: ${error.message}`));
    };
    const onConnect = (): void => settle(null);
    const onError = (error: Error): void => settle(error);
    // closed before any CONNACK (a listener that accepts and hangs up): mqtt.js then neither connects nor errs
    const onClose = (): void => settle(new Error('connection closed before CONNACK'));
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('close', onClose);
  });
  client.on('reconnect', () => options.onReconnect?.());
  client.on('error', (error) => options.onError?.(error));

  /** drop() or close() was called: no more attempts. */
  let ended = false;
  let retry: NodeJS.Timeout | null = null;
  if (options.reconnect !== false) {
    const backoff = createBackoff(options.reconnect);
    client.on('close', () => {
      if (ended || retry !== null) return;
      retry = setTimeout(() => {
        retry = null;
        // the stores hold the QoS 1 publishes still waiting for their PUBACK: they go out again on the new connection
        if (!ended) client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
      }, backoff.next());
    });
    client.on('connect', () => {
      backoff.reset();
      client.publishAsync(status, 'online', { qos: 1, retain: true }).catch((error: Error) => options.onError?.(error));
    });
  }
  const stop = (): void => {
    ended = true;
    if (retry !== null) clearTimeout(retry);
    retry = null;
  };

  return {
    async publish(topic, payload, retain) {
      await client.publishAsync(topic, payload, { qos: topic === status ? 1 : options.qos, retain });
    },
    async drop() {
      stop();
      await client.endAsync(true);
    },
    async close() {
      stop();
      if (client.connected) await client.publishAsync(status, 'offline', { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync();
    },
    get connected() {
      return client.connected;
    },
  };
}
