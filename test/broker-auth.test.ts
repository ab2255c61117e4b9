import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connackCode, connectDevice, grantedQos, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { rawConnack } from './helpers/raw-mqtt.js';
import { api, eventually, metricValue, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** The QoS granted in SUBACK (128 = failure); mqtt.js reports a failure as an error carrying the SUBACK. */

describe('MQTT authentication and topic ACL (contract §1)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ overrides: { mqtt: { tcp: { host: '127.0.0.1', port: 0 }, maxConnections: 5 } } });
  });
  afterAll(() => gateway?.close());

  const metrics = async (): Promise<string> => (await api(gateway, '/metrics')).body as string;

  it('accepts a device with its own credentials', async () => {
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' })).toBe(0);
  });

  it('refuses a wrong password with CONNACK 4 and counts it', async () => {
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-01', password: 'wrong', clientId: 'dc-01:bad' })).toBe(4);
    expect(metricValue(await metrics(), 'gateway_mqtt_connect_refused_total', { reason: 'bad_credentials' })).toBe(1);
  });

  it('refuses an unknown device with CONNACK 4 and counts it', async () => {
    expect(await connackCode(gateway.mqttUrl, { username: 'nobody', password: 'x', clientId: 'nobody' })).toBe(4);
    expect(metricValue(await metrics(), 'gateway_mqtt_connect_refused_total', { reason: 'unknown_device' })).toBe(1);
  });

  it('refuses anonymous clients with CONNACK 5 when lab mode is off', async () => {
    expect(await connackCode(gateway.mqttUrl, { clientId: 'anon' })).toBe(5);
    expect(metricValue(await metrics(), 'gateway_mqtt_connect_refused_total', { reason: 'anonymous' })).toBe(1);
  });

  it('refuses a zero-length ClientId with CleanSession=0 with CONNACK 2 (MQTT-3.1.3-8)', async () => {
    // Stock clients refuse to send this, so the CONNECT is built by hand.
    expect(await rawConnack(gateway.mqttUrl, { clientId: '', clean: false, username: 'dc-01', password: 'secret-dc-01' })).toBe(2);
    expect(await rawConnack(gateway.mqttUrl, { clientId: '', clean: true, username: 'dc-01', password: 'secret-dc-01' })).toBe(0);
    expect(metricValue(await metrics(), 'gateway_mqtt_connect_refused_total', { reason: 'client_id' })).toBe(1);
  });

  it("refuses a Last Will on another device's topic with CONNACK 5", async () => {
    const code = await connackCode(gateway.mqttUrl, {
      username: 'dc-01',
      password: 'secret-dc-01',
      clientId: 'dc-01:will',
      will: { topic: 'sites/site-a/devices/dc-02/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    expect(code).toBe(5);
  });

  it('refuses SUBSCRIBE to # with a SUBACK failure (0x80), counted, and grants the own cmd/#', async () => {
    const client = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01:sub' });
    expect(await grantedQos(client, '#')).toBe(128);
    expect(await grantedQos(client, 'sites/site-a/devices/dc-01/cmd/#')).toBe(1);
    expect(await grantedQos(client, 'sites/site-a/devices/dc-02/cmd/#')).toBe(128);
    expect(client.connected).toBe(true);
    await client.endAsync();
    expect(metricValue(await metrics(), 'gateway_mqtt_acl_denied_total', { action: 'subscribe' })).toBe(2);
  });

  it("drops a publish to another device's topic: counted, quarantined, never stored, connection kept", async () => {
    const intruder = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01:pub' });
    const victim = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02:listen' });
    await victim.subscribeAsync('sites/site-a/devices/dc-02/cmd/#', { qos: 1 });
    const seen: string[] = [];
    victim.on('message', (topic) => seen.push(topic));

    await publishJson(intruder, telemetryTopicOf('site-a', 'dc-02'), { metrics: { hopper_temp: 95 } });
    await publishJson(intruder, 'sites/site-a/devices/dc-02/cmd/stop', { now: true });
    expect(intruder.connected).toBe(true);

    const quarantined = await eventually('forbidden entries in quarantine', async () => {
      const { body } = await api(gateway, '/api/quarantine?reason=forbidden');
      return body.entries.length >= 2 ? body.entries : undefined;
    });
    expect(quarantined[0].device).toBe('dc-01');
    expect(metricValue(await metrics(), 'gateway_mqtt_acl_denied_total', { action: 'publish' })).toBe(2);
    // Who did it is in the quarantine and the device's refusals, not in a metric label.
    const dc01 = (await api(gateway, '/api/devices')).body.devices.find((d: { id: string }) => d.id === 'dc-01');
    expect(dc01.rejections.forbidden).toBe(2);
    await gateway.settle();
    const devices = (await api(gateway, '/api/devices')).body.devices;
    expect(devices.find((d: { id: string }) => d.id === 'dc-02').lastValues).toEqual({});
    expect((await api(gateway, '/api/alarms?state=all')).body.alarms).toEqual([]);
    expect(seen).toEqual([]);
    await intruder.endAsync();
    await victim.endAsync();
  });

  it('refuses connections beyond mqtt.maxConnections with CONNACK 3', async () => {
    const small = await startTestGateway({ overrides: { mqtt: { tcp: { host: '127.0.0.1', port: 0 }, maxConnections: 3 } } });
    try {
      const clients = [];
      for (let i = 0; i < 3; i += 1)
        clients.push(await connectDevice(small.mqttUrl, { username: 'dc-09', password: 'secret-dc-09', clientId: `dc-09:${i}` }));
      expect(await connackCode(small.mqttUrl, { username: 'dc-09', password: 'secret-dc-09', clientId: 'dc-09:extra' })).toBe(3);
      expect(metricValue((await api(small, '/metrics')).body, 'gateway_mqtt_connect_refused_total', { reason: 'max_connections' })).toBe(1);
      await clients[0]?.endAsync();
      await eventually('a free connection slot', async () =>
        (await connackCode(small.mqttUrl, { username: 'dc-09', password: 'secret-dc-09', clientId: 'dc-09:later' })) === 0
          ? true
          : undefined,
      );
      await Promise.all(clients.slice(1).map((c) => c.endAsync()));
    } finally {
      await small.close();
    }
  });
});
