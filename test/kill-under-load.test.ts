import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { hopperValuesByDevice, queryInflux } from './helpers/influx-query.js';
import { connectDevice, telemetryTopicOf } from './helpers/mqtt-device.js';
import { eventually, freshDatabase, LANE_THREADS, type TestDevice, TOKENS } from './helpers/test-gateway.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('kill-under-load-secret-32-bytes!').toString('base64')}`;
const DEVICES: TestDevice[] = Array.from({ length: 50 }, (_, i) => ({
  id: `dc-${String(i + 1).padStart(3, '0')}`,
  site: `site-${(i % 5) + 1}`,
  profile: 'dust-collector',
  secret: `load-secret-${i + 1}`,
}));
/** Readings in the recent past, one second apart per device. */
const BASE = Date.now() - 3 * 3_600_000;
/** A hopper temperature that crosses the yellow level (60, clear 58) back and forth every few readings. */
const hopperAt = (seq: number): number => (Math.floor(seq / 7) % 2 === 0 ? 40 + (seq % 7) : 61 + (seq % 7));

interface Sent {
  seq: number;
  ts: number;
  value: number;
}

/** A device publishing QoS 1 readings with four in flight, until stopped; what was sent and what was acknowledged. */
function loadDevice(client: MqttClient, device: TestDevice, firstSeq: number) {
  const sent: Sent[] = [];
  const acked: Sent[] = [];
  let stopped = false;
  let seq = firstSeq;
  const lane = async (): Promise<void> => {
    while (!stopped && client.connected) {
      const reading = { seq, ts: BASE + seq * 1_000, value: hopperAt(seq) };
      seq += 1;
      sent.push(reading);
      try {
        await client.publishAsync(
          telemetryTopicOf(device.site, device.id),
          JSON.stringify({ seq: reading.seq, ts: reading.ts, metrics: { hopper_temp: reading.value } }),
          { qos: 1 },
        );
        acked.push(reading);
      } catch {
        return; // the gateway went away: this one was not acknowledged
      }
    }
  };
  const done = Promise.all([lane(), lane(), lane(), lane()]);
  return {
    sent,
    acked,
    get next() {
      return seq;
    },
    async stop() {
      stopped = true;
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    },
  };
}

const connectAll = (gateway: GatewayProcess): Promise<MqttClient[]> =>
  Promise.all(
    DEVICES.map((d) =>
      connectDevice(gateway.mqttUrls[0] as string, { clientId: d.id, username: d.id, password: d.secret, reconnectPeriod: 0 }),
    ),
  );

describe.each(LANE_THREADS)('kill -9 under sustained QoS 1 load from 50 devices (issue 13) — lane.thread: %s', (thread) => {
  let running: GatewayProcess | null = null;
  let receiver: WebhookReceiver | null = null;
  afterEach(async () => {
    await running?.stop();
    await receiver?.close();
    running = null;
    receiver = null;
  });

  it('every acknowledged reading is stored exactly once; every alarm transition delivered once, ids and seq going on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-kill-load-'));
    const database = freshDatabase();
    receiver = await startWebhookReceiver(SECRET);
    const config = await writeGatewayConfig(dir, DEVICES, [
      'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
      `influx: { mode: url, url: ${JSON.stringify(inject('influxUrl'))}, database: ${database}, flushInterval: 100ms }`,
      `lane: { thread: ${thread} }`,
      'webhooks:',
      `  - { id: platform, url: ${JSON.stringify(receiver.url)}, secrets: ["${SECRET}"] }`,
    ]);
    running = await startGatewayProcess(config);

    let clients = await connectAll(running);
    let load = clients.map((client, i) => loadDevice(client, DEVICES[i] as TestDevice, 0));
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    running.child.kill('SIGKILL');
    expect(await running.exited).toBe('SIGKILL');
    await Promise.all(load.map((device) => device.stop()));
    for (const client of clients) client.end(true);
    const before = load;
    const ackedBefore = before.reduce((n, device) => n + device.acked.length, 0);
    expect(ackedBefore, 'readings acknowledged before the kill').toBeGreaterThan(200);

    running = await startGatewayProcess(config);
    clients = await connectAll(running);
    load = clients.map((client, i) => loadDevice(client, DEVICES[i] as TestDevice, before[i]?.next ?? 0));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await Promise.all(load.map((device) => device.stop()));
    for (const client of clients) client.end(true);

    // Readings: everything acknowledged in either life is stored, once, with the value that was acknowledged;
    // nothing was stored that was never sent.
    const acked = new Map<string, Sent[]>();
    const sent = new Map<string, Map<number, number>>();
    DEVICES.forEach((d, i) => {
      acked.set(d.id, [...(before[i]?.acked ?? []), ...(load[i]?.acked ?? [])]);
      sent.set(d.id, new Map([...(before[i]?.sent ?? []), ...(load[i]?.sent ?? [])].map((r) => [r.ts, r.value])));
    });
    const total = [...acked.values()].reduce((n, list) => n + list.length, 0);
    // Waits for each acknowledged reading itself: a count would be reached early by readings stored but never
    // acknowledged (their PUBACK lost in the kill) while acknowledged ones still drain from the spool.
    const rows = await eventually(
      'every acknowledged reading in influxd',
      async () => {
        const out = await queryInflux(database, 'SELECT hopper_temp, device FROM telemetry').catch(() => []);
        const present = new Set(out.map((row) => `${row.device} ${new Date(row.time).getTime()}`));
        return DEVICES.every((d) => (acked.get(d.id) ?? []).every((r) => present.has(`${d.id} ${r.ts}`))) ? out : undefined;
      },
      60_000,
    );
    const stored = hopperValuesByDevice(rows);
    for (const d of DEVICES) {
      const mine = stored.get(d.id) ?? new Map<number, number[]>();
      for (const reading of acked.get(d.id) ?? []) expect(mine.get(reading.ts), `${d.id} ts ${reading.ts}`).toEqual([reading.value]);
      for (const [ts, values] of mine) expect(values, `${d.id} ts ${ts} was sent`).toEqual([sent.get(d.id)?.get(ts)]);
    }

    // Alarms: one alarm id per rule key across both lives (the book came back), each id's events numbered
    // 1, 2, 3, … without a gap or a repeat, and each delivered event is what the book's history holds.
    const gateway = running;
    await eventually(
      'webhook deliveries settled',
      async () => {
        const response = await fetch(`${gateway.httpUrl}/api/webhooks`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
        const subscriber = ((await response.json()) as { subscribers: Array<{ queued: number; inFlight: number }> }).subscribers[0];
        return subscriber && subscriber.queued === 0 && subscriber.inFlight === 0 ? true : undefined;
      },
      30_000,
    );
    const byId = new Map<string, ReceivedWebhook>();
    for (const hook of receiver.received)
      if (!byId.has(String(hook.headers['webhook-id']))) byId.set(String(hook.headers['webhook-id']), hook);
    const hopper = [...byId.values()].filter((hook) => hook.event.data.alarm.rule === 'hopper_temp_high');
    expect(hopper.length, 'hopper alarm events delivered').toBeGreaterThan(50);
    const idsOfKey = new Map<string, Set<string>>();
    const seqsOfId = new Map<string, number[]>();
    for (const hook of hopper) {
      const alarm = hook.event.data.alarm;
      idsOfKey.set(alarm.key, (idsOfKey.get(alarm.key) ?? new Set()).add(alarm.id));
      seqsOfId.set(alarm.id, [...(seqsOfId.get(alarm.id) ?? []), alarm.seq]);
    }
    for (const [key, ids] of idsOfKey) expect([...ids], `one alarm for ${key}`).toHaveLength(1);
    // the figures of the run, for the record (issue 13 asks for them)
    const sentTotal = [...sent.values()].reduce((n, list) => n + list.size, 0);
    console.info(
      `kill -9 under load (${thread}): ${ackedBefore} acknowledged before the kill, ${total} in all, ${sentTotal} sent, ${rows.length} stored; ` +
        `${hopper.length} hopper events delivered (${receiver.received.length - byId.size} repeated deliveries) for ${seqsOfId.size} alarms`,
    );
    for (const [id, seqs] of seqsOfId) {
      const sorted = [...seqs].sort((a, b) => a - b);
      expect(sorted, `alarm ${id}: every seq once`).toEqual(Array.from({ length: sorted.length }, (_, k) => k + 1));
      const response = await fetch(`${gateway.httpUrl}/api/alarms/${id}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
      const { history } = (await response.json()) as { history: Array<{ type: string }> };
      expect(history.length, `alarm ${id}: delivered = recorded`).toBe(sorted.length);
    }
  }, 150_000);
});
