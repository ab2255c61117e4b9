import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** Connects a real MQTT 3.1.1 client over TCP; resolves once CONNACK accepted, rejects with the CONNACK code. */
export function connectDevice(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    client.once('connect', () => resolve(client));
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
  });
}

/** The CONNACK return code a connection attempt got (0 = accepted). */
export async function connackCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await connectDevice(url, options);
    await client.endAsync();
    return 0;
  } catch (error) {
    const code = (error as { code?: number }).code;
    if (typeof code !== 'number') throw error;
    return code;
  }
}

export const telemetryTopicOf = (site: string, device: string): string => `sites/${site}/devices/${device}/telemetry`;

export function publishJson(client: MqttClient, topic: string, payload: unknown, qos: 0 | 1 = 1): Promise<void> {
  const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  return client.publishAsync(topic, body, { qos }).then(() => undefined);
}

/** The QoS the broker granted for one filter; 128 (0x80) is a refusal, which mqtt.js reports as an error. */
export async function grantedQos(client: MqttClient, filter: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    return granted[0]?.qos ?? -1;
  } catch (error) {
    const packet = (error as { packet?: { granted?: number[] } }).packet;
    if (!packet?.granted) throw error;
    return packet.granted[0] ?? -1;
  }
}
