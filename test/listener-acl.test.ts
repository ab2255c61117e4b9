import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedMetric } from './helpers/metrics-text.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { selfSignedCertificate } from './helpers/tls-certificate.js';

/** Contract §1: the topic ACL holds on every listener, not only on plain TCP. */
describe.each(['tls', 'ws'] as const)('the topic ACL over the %s listener', (listener) => {
  let gateway: TestGateway;
  let options: IClientOptions;
  beforeAll(async () => {
    const tls = selfSignedCertificate();
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        mqtt: {
          tcp: { host: '127.0.0.1', port: 0 },
          tls: { host: '127.0.0.1', port: 0, cert: tls.cert, key: tls.key },
          ws: { host: '127.0.0.1', port: 0, path: '/mqtt' },
        },
      },
    });
    options = listener === 'tls' ? { ca: readFileSync(tls.cert), rejectUnauthorized: true } : {};
  });
  afterAll(() => gateway?.close());

  const url = (): string => gateway.listeners.find((l) => l.name === listener)!.url;
  const lastValues = async (device: string): Promise<Record<string, unknown>> =>
    (await api(gateway, '/api/devices')).body.devices.find((d: { id: string }) => d.id === device).lastValues;
  const metrics = async (): Promise<string> => (await api(gateway, '/metrics')).body;

  it('stores a device publishing in its own namespace, and drops, counts and quarantines one in another device’s', async () => {
    const device = await connectDevice(url(), { ...options, username: 'dc-01', password: 'secret-dc-01', clientId: `dc-01:${listener}` });
    try {
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hopper_temp: 41.5 } });
      await eventually('the own reading', async () => ((await lastValues('dc-01')).hopper_temp === 41.5 ? true : undefined));

      // Another device's namespace (same site, and another site): acknowledged by MQTT 3.1.1, but dropped.
      await publishJson(device, telemetryTopicOf('site-a', 'dc-02'), { metrics: { hopper_temp: 99.9 } });
      await publishJson(device, telemetryTopicOf('site-b', 'dc-09'), { metrics: { hopper_temp: 98.8 } });
      await eventually('the forbidden publishes counted', async () =>
        exposedMetric(await metrics(), 'gateway_mqtt_acl_denied_total', { action: 'publish' }) === 2 ? true : undefined,
      );
      const quarantined = (await api(gateway, '/api/quarantine?reason=forbidden')).body;
      expect(JSON.stringify(quarantined)).toContain(telemetryTopicOf('site-a', 'dc-02'));
      expect(JSON.stringify(quarantined)).toContain(telemetryTopicOf('site-b', 'dc-09'));
      await gateway.settle();
      expect((await lastValues('dc-02')).hopper_temp).toBeUndefined();
      expect((await lastValues('dc-09')).hopper_temp).toBeUndefined();
    } finally {
      await device.endAsync();
    }
  });

  it('grants a subscription to the device’s own cmd/# only', async () => {
    const device = await connectDevice(url(), {
      ...options,
      username: 'dc-01',
      password: 'secret-dc-01',
      clientId: `dc-01:${listener}-sub`,
    });
    try {
      const own = await device.subscribeAsync('sites/site-a/devices/dc-01/cmd/#', { qos: 1 });
      expect(own.map((g) => g.qos)).toEqual([1]);
      // mqtt.js turns a SUBACK failure (0x80) into a rejected subscribe.
      for (const filter of ['sites/site-a/devices/dc-02/cmd/#', 'sites/site-a/devices/dc-01/telemetry', '#']) {
        await expect(device.subscribeAsync(filter, { qos: 1 }), filter).rejects.toThrow(/Subscribe error/);
      }
      expect(exposedMetric(await metrics(), 'gateway_mqtt_acl_denied_total', { action: 'subscribe' })).toBe(3);
    } finally {
      await device.endAsync();
    }
  });
});
