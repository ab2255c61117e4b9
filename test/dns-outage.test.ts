import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDns } from './helpers/fake-dns.js';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { eventually, type TestDevice } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('dns-outage-test-secret-32-bytes!').toString('base64')}`;
/** The gateway's DNS server: an address of the loopback network nothing else uses. */
const DNS_ADDRESS = '127.0.0.153';
const KNOWN = ['receiver-1', 'receiver-2', 'receiver-3', 'receiver-4'];
const NEVER = ['never-1', 'never-2', 'never-3', 'never-4'];
const DEVICES: TestDevice[] = [{ id: 'dc-01', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-01' }];

/**
 * A plant's DNS server stops answering (a common outage: the gateway's own network is fine). The gateway runs in a
 * mount namespace of its own whose /etc/resolv.conf names a real DNS server this test runs: it answers, then goes
 * quiet. Webhook receivers are configured by name — four it resolved before, four it never could.
 */
describe('a DNS server that stops answering', () => {
  let dns: Awaited<ReturnType<typeof startFakeDns>>;
  let receiver: WebhookReceiver;
  let gateway: GatewayProcess;
  let device: MqttClient;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error(
        'this test runs the gateway in a mount namespace of its own (unshare -m) and a DNS server on port 53: run it as root',
      );
    receiver = await startWebhookReceiver(SECRET);
    const port = new URL(receiver.url).port;
    dns = await startFakeDns(DNS_ADDRESS, Object.fromEntries(KNOWN.map((name) => [`${name}.plant.test`, '127.0.0.1'])));
    const dir = mkdtempSync(join(tmpdir(), 'gateway-dns-outage-'));
    const resolvConf = join(dir, 'resolv.conf');
    // the resolver waits 4 s for an answer that does not come (glibc's default is 5 s, tried twice)
    writeFileSync(resolvConf, `nameserver ${DNS_ADDRESS}\noptions timeout:4 attempts:1\n`);
    const subscriber = (name: string) =>
      `  - { id: ${name}, url: "http://${name}.plant.test:${port}/${name}", secrets: ["${SECRET}"], retryBaseDelay: 200ms, retryMaxDelay: 1s, maxAttempts: 50 }`;
    const config = await writeGatewayConfig(dir, DEVICES, [
      'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
      'influx: { mode: off }',
      'webhooks:',
      ...[...KNOWN, ...NEVER].map(subscriber),
    ]);
    gateway = await startGatewayProcess(config, {
      // private mount propagation (unshare's default): the bind mount is the gateway's alone
      prefix: ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf],
    });
    device = await connectDevice(gateway.mqttUrls[0] as string, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    clients.push(device);
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.end(true);
    await gateway?.stop();
    await receiver?.close();
    await dns?.close();
  });

  const hopper = (value: number) =>
    publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: Date.now(), metrics: { hopper_temp: value } }, 1);
  const eventsOf = (type: string) =>
    receiver.received.filter((r) => r.event.type === type && r.event.data.alarm.rule === 'hopper_temp_high');

  it('does not stop alarms reaching receivers resolved before, while lookups of names it never resolved wait it out', async () => {
    // DNS up: the alarm reaches the four receivers by name (the other four names do not exist)
    await hopper(85);
    await eventually('the raise at all four receivers', () => (eventsOf('alarm.raised').length >= 4 ? true : undefined), 20_000);
    expect(new Set(eventsOf('alarm.raised').map((r) => r.path))).toEqual(new Set(KNOWN.map((name) => `/${name}`)));

    // the kept-alive connections close after 4 s idle: every request from here needs an address again
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    dns.state.up = false;
    const queriesBefore = dns.state.queries;
    const clearedAt = Date.now();
    await hopper(40);

    // the clear reaches the four receivers resolved before, without waiting for the DNS server (before: each new
    // connection waited 4 s for it, failed with EAI_AGAIN, and was tried again, to fail again)
    await eventually('the clear at all four receivers', () => (eventsOf('alarm.cleared').length >= 4 ? true : undefined), 15_000);
    const clearedMs = Math.max(...eventsOf('alarm.cleared').map((r) => r.at)) - clearedAt;
    expect(new Set(eventsOf('alarm.cleared').map((r) => r.path))).toEqual(new Set(KNOWN.map((name) => `/${name}`)));
    expect(clearedMs).toBeLessThan(3_000);
    // meanwhile the deliveries to the names never resolved asked the DNS server again and again: it was quiet, not gone
    await eventually('lookups waiting for the DNS server', () => (dns.state.queries >= queriesBefore + 4 ? true : undefined), 10_000);
    expect(eventsOf('alarm.cleared').every((r) => r.verified)).toBe(true);
  }, 60_000);
});
