import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('filters-test-secret-of-32-bytes!').toString('base64')}`;
const RULE = 'hopper_temp_high';

interface Filter {
  sites?: string[];
  severities?: string[];
  types?: string[];
}

/** Subscribers with a filter each; `all` has none and is the reference every other is compared with. */
const FILTERS: Record<string, Filter> = {
  all: {},
  siteB: { sites: ['site-b'] },
  red: { severities: ['red'] },
  cleared: { types: ['alarm.cleared'] },
  siteARaisedOrEscalatedOrange: { sites: ['site-a'], severities: ['orange', 'red'], types: ['alarm.raised', 'alarm.escalated'] },
};

interface Summary {
  site: string;
  severity: string;
  type: string;
  id: string;
}

describe('webhook filters: sites, severities, types (contract §5)', () => {
  let gateway: TestGateway;
  const receivers = new Map<string, WebhookReceiver>();
  const devices: MqttClient[] = [];
  let clock = Date.parse('2026-11-22T10:00:00Z');

  beforeAll(async () => {
    for (const name of Object.keys(FILTERS)) receivers.set(name, await startWebhookReceiver(SECRET));
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        webhooks: Object.entries(FILTERS).map(([name, filter]) => ({
          id: name,
          url: receivers.get(name)!.url,
          secrets: [SECRET],
          retryBaseDelay: 20,
          filter,
        })),
      },
    });
    devices.push(await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' }));
    devices.push(await connectDevice(gateway.mqttUrl, { username: 'dc-09', password: 'secret-dc-09', clientId: 'dc-09' }));
  });
  afterAll(async () => {
    for (const device of devices) await device.endAsync();
    await gateway?.close();
    for (const receiver of receivers.values()) await receiver.close();
  });

  const hopper = async (device: 0 | 1, value: number): Promise<void> => {
    clock += 600_000;
    const [site, id] = device === 0 ? ['site-a', 'dc-01'] : ['site-b', 'dc-09'];
    await publishJson(devices[device]!, telemetryTopicOf(site, id), { ts: clock, metrics: { hopper_temp: value } });
    await gateway.settle(100);
  };
  const summary = (name: string): Summary[] =>
    receivers
      .get(name)!
      .received.filter((r) => r.event.data.alarm.rule === RULE)
      .map((r) => ({ site: r.event.data.alarm.site, severity: r.event.data.alarm.severity, type: r.event.type, id: r.event.id }));

  it('sends each subscriber exactly the events its filter matches, and no others', async () => {
    await hopper(0, 65); // site-a raised yellow
    await hopper(1, 75); // site-b raised orange
    await hopper(0, 85); // site-a escalated red
    await hopper(1, 40); // site-b cleared
    await hopper(0, 40); // site-a cleared
    await eventually('both clears at the unfiltered subscriber', () =>
      summary('all').filter((e) => e.type === 'alarm.cleared').length === 2 ? true : undefined,
    );
    await gateway.webhooks.idle(5_000);

    const all = summary('all');
    const matches = (filter: Filter, event: Summary): boolean =>
      (!filter.sites || filter.sites.includes(event.site)) &&
      (!filter.severities || filter.severities.includes(event.severity)) &&
      (!filter.types || filter.types.includes(event.type));
    for (const [name, filter] of Object.entries(FILTERS)) {
      const expected = all.filter((event) => matches(filter, event));
      // Each filter picks some events and leaves some out, so ignoring it would show.
      if (name !== 'all') expect(expected.length, name).toBeGreaterThan(0);
      if (name !== 'all') expect(expected.length, name).toBeLessThan(all.length);
      expect(summary(name), name).toEqual(expected);
    }
    expect(summary('siteB').every((e) => e.site === 'site-b')).toBe(true);
    expect(summary('siteB').map((e) => e.type)).toContain('alarm.cleared');
    expect(summary('red').map((e) => [e.site, e.type])).toEqual([
      ['site-a', 'alarm.escalated'],
      ['site-a', 'alarm.cleared'],
    ]);
    expect(summary('cleared').map((e) => e.site)).toEqual(['site-b', 'site-a']);
    expect(summary('siteARaisedOrEscalatedOrange').map((e) => [e.site, e.severity])).toContainEqual(['site-a', 'red']);
    expect(summary('siteARaisedOrEscalatedOrange').every((e) => e.site === 'site-a' && e.type !== 'alarm.cleared')).toBe(true);
  });
});
