import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJECTION_REASONS } from '../gateway/src/ingest/rejection.js';
import { queryInflux } from './helpers/influx-query.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, LANE_THREADS, metricValue, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const TOPIC = telemetryTopicOf('site-a', 'dc-01');
const now = Date.now();

/** Each reason code, produced by a real publish from a real client. */
const CASES: Array<{ reason: keyof typeof REJECTION_REASONS; topic?: string; lab?: boolean; payload: string | Buffer; detail: RegExp }> = [
  {
    reason: 'too_large',
    payload: JSON.stringify({ metrics: { hopper_temp: 1 }, pad: 'x'.repeat(5_000) }),
    detail: /bytes > limit of 4096/,
  },
  { reason: 'decode', payload: '{"metrics": {"hopper_temp": 40', detail: /not JSON/ },
  { reason: 'decode', payload: Buffer.from([0xff, 0xfe, 0x7b]), detail: /not valid UTF-8/ },
  { reason: 'schema', payload: JSON.stringify({ values: { hopper_temp: 40 } }), detail: /metrics/ },
  { reason: 'schema', payload: JSON.stringify({ ts: 'yesterday', metrics: { hopper_temp: 40 } }), detail: /ts/ },
  {
    reason: 'unknown_metric',
    payload: JSON.stringify({ metrics: { hopper_temp: 40, colour: 3 } }),
    detail: /metrics\.colour: not a metric of profile dust-collector/,
  },
  {
    reason: 'type',
    payload: JSON.stringify({ metrics: { hopper_temp: 'hot' } }),
    detail: /metrics\.hopper_temp: expected a number, got "hot"/,
  },
  { reason: 'type', payload: JSON.stringify({ metrics: { rotary_valve: 'spinning' } }), detail: /one of running, stopped, fault/ },
  {
    reason: 'unit',
    payload: JSON.stringify({ metrics: { diff_pressure: 3 }, units: { diff_pressure: 'furlongs' } }),
    detail: /cannot convert "furlongs" to Pa/,
  },
  {
    reason: 'future_timestamp',
    payload: JSON.stringify({ ts: now + 3_600_000, seq: 900, metrics: { hopper_temp: 40 } }),
    detail: /ahead of the gateway/,
  },
  {
    reason: 'past_timestamp',
    payload: JSON.stringify({ ts: '2000-01-01T00:00:00Z', seq: 901, metrics: { hopper_temp: 40 } }),
    detail: /2000-01-01T00:00:00\.000Z is \d+ s behind the gateway/,
  },
  { reason: 'unknown_metric', payload: '{"metrics":{"constructor":1}}', detail: /metrics\.constructor: not a metric/ },
  { reason: 'unit', payload: '{"metrics":{"hopper_temp":1},"units":{"hopper_temp":"valueOf"}}', detail: /cannot convert "valueOf"/ },
  { reason: 'topic', topic: 'sites/site-a/devices/dc-01/telemetry/extra', payload: '{}', detail: /expected sites/ },
  {
    reason: 'forbidden',
    topic: telemetryTopicOf('site-a', 'dc-02'),
    payload: JSON.stringify({ metrics: { hopper_temp: 99 } }),
    detail: /may publish only under/,
  },
  {
    // sites/ is reserved for registered devices, also in lab mode: a lab client cannot even name a device.
    reason: 'forbidden',
    lab: true,
    topic: telemetryTopicOf('site-a', 'ghost-7'),
    payload: JSON.stringify({ metrics: { hopper_temp: 1 } }),
    detail: /lab mode does not allow publishing to sites\/site-a\/devices\/ghost-7\/telemetry/,
  },
];

describe.each(LANE_THREADS)(
  'bad input gets a reason code, is counted and quarantined, and disturbs nothing (contract §2) — lane.thread: %s',
  (thread) => {
    let gateway: TestGateway;
    let bad: MqttClient;
    let good: MqttClient;
    let lab: MqttClient;

    beforeAll(async () => {
      gateway = await startTestGateway({
        thread,
        overrides: {
          mqtt: {
            tcp: { host: '127.0.0.1', port: 0 },
            maxPayloadBytes: 4096,
            labMode: { enabled: true, allow: ['sites/+/devices/+/telemetry', 'lab/#'] },
          },
        },
      });
      bad = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
      good = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' });
      lab = await connectDevice(gateway.mqttUrl, { clientId: 'lab-tester' });
    });
    afterAll(async () => {
      await Promise.all([bad?.endAsync(), good?.endAsync(), lab?.endAsync()]);
      await gateway?.close();
    });

    it('produces every reason code from real publishes while a good device keeps being stored', async () => {
      let goodSeq = 0;
      for (const testCase of CASES) {
        const client = testCase.lab ? lab : bad;
        await client.publishAsync(testCase.topic ?? TOPIC, testCase.payload, { qos: 1 });
        goodSeq += 1;
        await publishJson(good, telemetryTopicOf('site-a', 'dc-02'), {
          seq: goodSeq,
          ts: now - 60_000 + goodSeq,
          metrics: { hopper_temp: 30 + goodSeq },
        });
      }
      // A QoS 1 redelivery: the same reading twice.
      const reading = { seq: 1, ts: now - 1_000, metrics: { hopper_temp: 41 } };
      await publishJson(bad, TOPIC, reading);
      await publishJson(bad, TOPIC, reading);
      await gateway.settle();

      const { body } = await api(gateway, '/api/quarantine?limit=1000');
      const entries: Array<{
        reason: string;
        detail: string;
        topic: string;
        payload: string;
        payloadEncoding: string;
        device: string | null;
      }> = body.entries;
      for (const testCase of CASES) {
        const match = entries.find((entry) => entry.reason === testCase.reason && testCase.detail.test(entry.detail));
        expect(match, `quarantine entry for ${testCase.reason} ${testCase.detail}`).toBeDefined();
      }
      const duplicates = entries.filter((entry) => entry.reason === 'duplicate');
      expect(duplicates).toHaveLength(1);
      expect(duplicates[0]?.detail).toBe('seq 1 already received');
      expect(entries.find((e) => e.reason === 'decode' && e.payloadEncoding === 'base64')?.payload).toBe(
        Buffer.from([0xff, 0xfe, 0x7b]).toString('base64'),
      );
      // Every reason a client can cause. `internal` is a gateway fault (gateway/src/lane/lane-faults.test.ts);
      // `unknown_device` is a defensive check no client reaches since the ACL and the sites/ reservation;
      // `influx_refused` is InfluxDB refusing a stored point (test/influx-readiness.test.ts).
      const causable = Object.keys(REJECTION_REASONS).filter(
        (reason) => reason !== 'internal' && reason !== 'unknown_device' && reason !== 'influx_refused',
      );
      expect(causable.filter((reason) => !entries.some((e) => e.reason === reason))).toEqual([]);

      const metrics = (await api(gateway, '/metrics')).body as string;
      for (const reason of Object.keys(REJECTION_REASONS)) {
        const expected = entries.filter((e) => e.reason === reason).length;
        expect(metricValue(metrics, 'gateway_ingest_rejections_total', { reason }), reason).toBe(expected);
      }
      // Per device in the API, not in a metric label (one series per device would be unbounded): every refusal of
      // dc-01 by reason, none for dc-02, and the lab client's (no device) on nobody.
      expect(metrics).not.toMatch(/^gateway_ingest_rejections_total\{[^}]*device=/m);
      const devices: Array<{ id: string; rejections: Record<string, number> }> = (await api(gateway, '/api/devices')).body.devices;
      const tally: Record<string, number> = {};
      for (const entry of entries) if (entry.device === 'dc-01') tally[entry.reason] = (tally[entry.reason] ?? 0) + 1;
      expect(devices.find((d) => d.id === 'dc-01')?.rejections).toEqual(tally);
      expect(devices.find((d) => d.id === 'dc-01')?.rejections.type).toBe(2);
      expect(devices.find((d) => d.id === 'dc-02')?.rejections).toEqual({});
      expect(entries.filter((e) => e.reason === 'forbidden')).toHaveLength(2);
      expect(tally.forbidden).toBe(1);
      // Counted in the worker or on the main thread, /metrics shows one set, process metrics included.
      expect(metricValue(metrics, 'gateway_readings_accepted_total', { profile: 'dust-collector' })).toBeGreaterThan(0);
      expect(metricValue(metrics, 'gateway_process_start_time_seconds')).toBeGreaterThan(1_700_000_000);

      // Filtering the quarantine by reason and device.
      const typeOnly = (await api(gateway, '/api/quarantine?reason=type&device=dc-01')).body.entries;
      expect(typeOnly).toHaveLength(2);
      expect((await api(gateway, '/api/quarantine?reason=bogus')).status).toBe(400);

      // The good device: every reading stored; the bad one: only its single valid reading, once.
      const goodRows = await eventually('all good readings in influxd', async () => {
        const rows = await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-02'");
        return rows.length === CASES.length ? rows : undefined;
      });
      expect(goodRows).toHaveLength(CASES.length);
      const badRows = await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-01'");
      expect(badRows.map((r) => r.hopper_temp)).toEqual([41]);
      expect(bad.connected && good.connected && lab.connected).toBe(true);
    });

    it('accepts a restarted device whose sequence numbers begin again with new times', async () => {
      await publishJson(bad, TOPIC, { seq: 1, ts: now - 500, metrics: { hopper_temp: 42 } });
      await gateway.settle();
      const rows = await eventually('the restarted reading', async () => {
        const found = await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-01'");
        return found.length === 2 ? found : undefined;
      });
      expect(rows.map((r) => r.hopper_temp)).toEqual([41, 42]);
    });

    it('lets lab-mode clients use their allowed topics, and only those', async () => {
      const received: string[] = [];
      const listener = await connectDevice(gateway.mqttUrl, { clientId: 'lab-listener' });
      listener.on('message', (topic) => received.push(topic));
      await listener.subscribeAsync('lab/#', { qos: 1 });
      await lab.publishAsync('lab/echo', 'hello', { qos: 1 });
      await lab.publishAsync('elsewhere/x', 'nope', { qos: 1 });
      await eventually('lab message', () => (received.length >= 1 ? true : undefined));
      expect(received).toEqual(['lab/echo']);
      const forbidden = (await api(gateway, '/api/quarantine?reason=forbidden')).body.entries;
      expect(forbidden.some((e: { topic: string }) => e.topic === 'elsewhere/x')).toBe(true);
      await listener.endAsync();
    });
  },
);
