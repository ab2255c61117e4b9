import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

interface DeviceView {
  id: string;
  online: boolean;
  connections: number;
  reportedStatus: 'online' | 'offline' | null;
}

const STATUS_TOPIC = 'sites/site-a/devices/dc-02/status';

describe('device online state in /api/devices (contract §1, §6)', () => {
  let gateway: TestGateway;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    gateway = await startTestGateway({ overrides: { influx: { mode: 'off' } } });
  });
  afterAll(async () => {
    for (const client of clients) client.end(true);
    await gateway?.close();
  });

  const device = async (id: string): Promise<DeviceView> => {
    const { body } = await api(gateway, '/api/devices', { token: TOKENS.viewer });
    return body.devices.find((d: DeviceView) => d.id === id);
  };
  /** Polls /api/devices until the device has `connections` open connections; returns its view then. */
  const withConnections = (id: string, connections: number) =>
    eventually(`${id} with ${connections} connection(s)`, async () => {
      const view = await device(id);
      return view.connections === connections ? view : undefined;
    });
  const connect = async (clientId: string, options: Parameters<typeof connectDevice>[1] = {}): Promise<MqttClient> => {
    const client = await connectDevice(gateway.mqttUrl, {
      username: clientId.split(':')[0],
      password: 'secret-dc-01',
      clientId,
      ...options,
    });
    clients.push(client);
    return client;
  };

  it('stays online while either of two connections of one device is open', async () => {
    expect(await device('dc-01')).toMatchObject({ online: false, connections: 0 });
    const first = await connect('dc-01');
    const second = await connect('dc-01:2');
    expect(await withConnections('dc-01', 2)).toMatchObject({ online: true });

    await second.endAsync();
    expect(await withConnections('dc-01', 1)).toMatchObject({ online: true });

    await first.endAsync();
    expect(await withConnections('dc-01', 0)).toMatchObject({ online: false });
  });

  const dropWithLastWill = async (qos: 0 | 1): Promise<DeviceView> => {
    const client = await connectDevice(gateway.mqttUrl, {
      username: 'dc-02',
      password: 'secret-dc-02',
      clientId: 'dc-02',
      will: { topic: STATUS_TOPIC, payload: Buffer.from('offline'), qos, retain: true },
    });
    clients.push(client);
    await client.publishAsync(STATUS_TOPIC, 'online', { qos: 1, retain: true });
    await eventually('dc-02 reported online', async () => ((await device('dc-02')).reportedStatus === 'online' ? true : undefined));
    expect(await device('dc-02')).toMatchObject({ online: true, connections: 1 });

    client.stream.destroy(); // no DISCONNECT: the broker publishes the Last Will
    return eventually(
      'dc-02 offline by its Last Will',
      async () => {
        const current = await device('dc-02');
        return current.reportedStatus === 'offline' ? current : undefined;
      },
      5_000,
    );
  };

  it('shows a device offline after its connection drops and its Last Will (QoS 0) is published', async () => {
    expect(await dropWithLastWill(0)).toMatchObject({ online: false, connections: 0, reportedStatus: 'offline' });
  });

  // A Will carries no packet id: the broker's check for id 0 on QoS 1 must not refuse it.
  it('shows a device offline after its connection drops and its Last Will (QoS 1) is published', async () => {
    expect(await dropWithLastWill(1)).toMatchObject({ online: false, connections: 0, reportedStatus: 'offline' });
  });
});
