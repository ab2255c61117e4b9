import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dustFleet, keepReporting, type Reporter, reportOnce } from './helpers/dust-fleet.js';
import { listenToAlarmStream, type SseListener } from './helpers/sse-listener.js';
import { api, eventually, startTestGateway, type TestDevice, type TestGateway, TOKENS } from './helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('mass-outage-test-secret-32bytes!').toString('base64')}`;
const SITES = ['site-1', 'site-2', 'site-3', 'site-4'];
const COUNT = 2_000;
/** Site 1's collectors have a choked bag house (ΔP under 250 Pa while the fan runs) when the network goes down. */
const CHOKED_SITE = 'site-1';
const DEVICES = dustFleet(COUNT, SITES);
const CHOKED = DEVICES.filter((d) => d.site === CHOKED_SITE).length;

describe('a plant-wide network outage: 2,000 devices silent in one tick, then back (issue 17)', () => {
  let gateway: TestGateway | null = null;
  let receiver: WebhookReceiver | null = null;
  let feed: SseListener | null = null;
  let reporters: Reporter[] = [];
  let stopReporting = (): void => undefined;
  afterEach(async () => {
    stopReporting();
    for (const { session } of reporters.splice(0)) session.destroy();
    feed?.close();
    await gateway?.close();
    await receiver?.close();
    gateway = null;
    receiver = null;
    feed = null;
  });

  /** `type rule` of what the receiver was told, counted. */
  const deliveredCounts = (): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const { event } of receiver?.received ?? []) {
      const name = `${event.type} ${event.data.alarm.rule}`;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  };
  const alarmsNow = async (running: TestGateway, state: string): Promise<Record<string, number>> => {
    const body = (await api(running, `/api/alarms?state=${state}&limit=10000`, { token: TOKENS.viewer })).body;
    const counts: Record<string, number> = {};
    for (const alarm of body.alarms as Array<{ rule: string; site: string; state: string }>) {
      const name = `${alarm.rule} ${alarm.state}`;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  };

  it('raises, delivers and shows every silence alarm once, holds the choked filters behind them, and clears all when the devices are back; a restart redelivers nothing', async () => {
    receiver = await startWebhookReceiver(SECRET);
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-outage-'));
    const config = {
      dataDir,
      influx: { mode: 'off' },
      webhooks: [{ id: 'platform', url: receiver.url, secrets: [SECRET], retryBaseDelay: 30, retryMaxDelay: 200 }],
    };
    gateway = await startTestGateway({ devices: DEVICES, overrides: config });
    const running = gateway;
    feed = listenToAlarmStream(running.httpUrl, TOKENS.viewer);
    await feed.ready;

    reporters = await reportOnce(running.mqttUrl, DEVICES, Date.now, (d) => ({
      fan_running: true,
      diff_pressure: d.site === CHOKED_SITE ? 100 : 900,
    }));
    await running.settle();
    const t0 = Date.now(); // every reading's time is before this
    for (const { session } of reporters.splice(0)) session.destroy(); // the plant's network goes down

    running.tick(t0 + 31_000); // three reporting intervals without data: every device silent in one tick
    await eventually(
      'every silence alarm delivered',
      () => (deliveredCounts()['alarm.raised device_silent'] === COUNT ? true : undefined),
      60_000,
    );
    running.tick(t0 + 61_000); // site 1's ΔP on-delay runs out while its collectors are silent: held, not raised
    await running.settle();

    expect(deliveredCounts()).toEqual({ 'alarm.raised device_silent': COUNT });
    const keys = new Set(receiver.received.map((r) => r.event.data.alarm.key));
    expect(keys.size).toBe(COUNT);
    expect(await alarmsNow(running, 'open')).toEqual({ 'device_silent active': COUNT });
    await eventually('the live feed caught up', () => (feed?.events.length === COUNT ? true : undefined), 30_000);
    expect(feed.gaps).toEqual([]);
    expect(new Set(feed.events.map((e) => e.data.data.alarm.key))).toEqual(keys);
    const cursors = feed.events.map((e) => Number(e.id));
    expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
    const inhibitions = (await api(running, '/api/inhibitions', { token: TOKENS.viewer })).body;
    expect(inhibitions.inhibitors).toHaveLength(COUNT);
    expect(inhibitions.held).toHaveLength(CHOKED);
    expect(new Set(inhibitions.held.map((h: { key: string }) => h.key.split('/')[0]))).toEqual(new Set([CHOKED_SITE]));

    // The network is back (the devices' clocks where the test moved the gateway's): site 1's ΔP still low. They go
    // on reporting every 5 s, so that none is silent again however long the rest takes.
    const back = Date.now();
    const clock = () => t0 + 62_000 + (Date.now() - back);
    const metricsOf = (d: TestDevice) => ({ fan_running: true, diff_pressure: d.site === CHOKED_SITE ? 100 : 900 });
    stopReporting = keepReporting(reporters, 5_000, clock, metricsOf);
    await reportOnce(running.mqttUrl, DEVICES, clock, metricsOf, reporters);
    await eventually(
      'every silence cleared and the choked filters raised',
      () =>
        deliveredCounts()['alarm.cleared device_silent'] === COUNT && deliveredCounts()['alarm.raised diff_pressure_low'] === CHOKED
          ? true
          : undefined,
      60_000,
    );
    await running.settle();
    expect(deliveredCounts()).toEqual({
      'alarm.raised device_silent': COUNT,
      'alarm.cleared device_silent': COUNT,
      'alarm.raised diff_pressure_low': CHOKED,
    });
    // Each alarm's events in seq order.
    const lastSeq = new Map<string, number>();
    for (const { event } of receiver.received) {
      const { id, seq } = event.data.alarm;
      expect(seq).toBe((lastSeq.get(id) ?? 0) + 1);
      lastSeq.set(id, seq);
    }
    const open = await alarmsNow(running, 'open');
    expect(open).toEqual({ 'device_silent cleared': COUNT, 'diff_pressure_low active': CHOKED });
    expect((await api(running, '/api/inhibitions', { token: TOKENS.viewer })).body).toMatchObject({ inhibitors: [], held: [] });
    const webhooks = (await api(running, '/api/webhooks', { token: TOKENS.admin })).body;
    expect(JSON.stringify(webhooks)).toContain('"queued":0');

    // A restart on the same store: the same alarms, and nothing sent again.
    const received = receiver.received.length;
    stopReporting();
    for (const { session } of reporters.splice(0)) session.destroy();
    feed.close();
    await running.close();
    gateway = await startTestGateway({ devices: DEVICES, overrides: config });
    expect(await alarmsNow(gateway, 'open')).toEqual(open);
    await gateway.settle();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received.length).toBe(received);
  }, 180_000);
});
