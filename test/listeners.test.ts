import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connackCode, connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** A throwaway self-signed certificate for 127.0.0.1 (openssl is part of every Debian base system). */
function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`openssl failed (apt-get install -y openssl): ${result.stderr}`);
  return { cert, key };
}

describe('TLS and MQTT-over-WebSocket listeners (contract §1)', () => {
  let gateway: TestGateway;
  let tls: { cert: string; key: string };
  beforeAll(async () => {
    tls = selfSignedCertificate();
    gateway = await startTestGateway({
      overrides: {
        mqtt: {
          tcp: { host: '127.0.0.1', port: 0 },
          tls: { host: '127.0.0.1', port: 0, cert: tls.cert, key: tls.key },
          ws: { host: '127.0.0.1', port: 0, path: '/mqtt' },
        },
      },
    });
  });
  afterAll(() => gateway?.close());

  const urlOf = (name: string): string => gateway.listeners.find((l) => l.name === name)!.url;

  it('accepts devices over TLS with the same credentials and ACL, and refuses bad ones', async () => {
    const ca = readFileSync(tls.cert);
    expect(urlOf('tls')).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const device = await connectDevice(urlOf('tls'), {
      username: 'dc-01',
      password: 'secret-dc-01',
      clientId: 'dc-01:tls',
      ca,
      rejectUnauthorized: true,
    });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hopper_temp: 33.3 } });
    await device.endAsync();
    expect(await connackCode(urlOf('tls'), { username: 'dc-01', password: 'nope', clientId: 'x', ca })).toBe(4);
    await eventually('the TLS reading', async () => {
      const dc01 = (await api(gateway, '/api/devices')).body.devices.find((d: { id: string }) => d.id === 'dc-01');
      return dc01.lastValues.hopper_temp === 33.3 ? true : undefined;
    });
  });

  it('accepts devices over WebSocket on the configured path', async () => {
    expect(urlOf('ws')).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
    const device = await connectDevice(urlOf('ws'), { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02:ws' });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-02'), { metrics: { hopper_temp: 44.4 } });
    await device.endAsync();
    expect(await connackCode(urlOf('ws'), { clientId: 'anon-ws' })).toBe(5);
    await eventually('the WebSocket reading', async () => {
      const dc02 = (await api(gateway, '/api/devices')).body.devices.find((d: { id: string }) => d.id === 'dc-02');
      return dc02.lastValues.hopper_temp === 44.4 ? true : undefined;
    });
  });
});
