import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, expect } from 'vitest';
import type { GatewayProcess } from './gateway-process.js';
import { hopperValuesByDevice, queryInflux } from './influx-query.js';
import { telemetryTopicOf } from './mqtt-device.js';
import type { PrivateRedis } from './private-redis.js';
import { eventually, metricValue, type TestDevice, TOKENS } from './test-gateway.js';
import type { ReceivedWebhook, WebhookReceiver } from './webhook-receiver.js';

/**
 * Devices under QoS 1 load against a cluster, as the cluster load tests (test/cluster/cluster-*-under-load.test.ts)
 * drive them, and what those tests read back from the nodes.
 */

/** The cluster timing the load tests run with (ms). */
export const HEARTBEAT = 200;
export const MEMBER_TIMEOUT = 2_000;
export const FORWARD_TIMEOUT = 3_000;

/** Readings in the recent past, one second apart per device. */
export const BASE = Date.now() - 3 * 3_600_000;
/** A hopper temperature that crosses the yellow level (60, clear 58) back and forth every few readings. */
export const hopperAt = (seq: number): number => (Math.floor(seq / 7) % 2 === 0 ? 40 + (seq % 7) : 61 + (seq % 7));
/** No PUBACK within this long: the device gives up on the connection and sends it again on a new one. */
const PUBLISH_TIMEOUT = FORWARD_TIMEOUT + 4_000;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Reading {
  seq: number;
  ts: number;
  value: number;
  /** When the device first sent it (Date.now()). */
  firstSentAt: number;
}

/** A CONNACK within `timeoutMs`, or null (refused, closed, no answer: aedes-persistence-redis drops about one in a hundred). */
export function tryConnect(url: string, device: TestDevice, timeoutMs: number): Promise<MqttClient | null> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      clientId: device.id,
      username: device.id,
      password: device.secret,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    });
    const fail = (): void => {
      clearTimeout(timer);
      client.removeAllListeners('connect');
      client.end(true);
      resolve(null);
    };
    const timer = setTimeout(fail, timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      client.removeListener('error', fail);
      client.removeListener('close', fail);
      client.on('error', () => {});
      resolve(client);
    });
    client.once('error', fail);
    client.once('close', fail);
  });
}

/**
 * A device behind a TCP load balancer: QoS 1 readings, four in flight. When its connection closes (the balancer
 * moved it, or a node answered `unavailable` and closed it) or a PUBACK does not come (its write was fenced: the
 * site moved), it connects again — wherever `route` sends it now — and first resends every reading that was not
 * acknowledged, then goes on with new ones.
 */
export function loadDevice(device: TestDevice, route: () => GatewayProcess) {
  const sent = new Map<number, Reading>();
  /** Acknowledged readings, with when the PUBACK came. */
  const acked = new Map<number, Reading & { at: number }>();
  const resend: Reading[] = [];
  let next = 0;
  let stopped = false;
  let connections = 0;
  let current: MqttClient | null = null;
  const fresh = (): Reading => {
    const reading = { seq: next, ts: BASE + next * 1_000, value: hopperAt(next), firstSentAt: Date.now() };
    next += 1;
    sent.set(reading.seq, reading);
    return reading;
  };

  const session = async (client: MqttClient): Promise<void> => {
    let broken = false;
    const breakOff = (): void => {
      broken = true;
      client.end(true); // rejects every publish still waiting for its PUBACK (reconnectPeriod 0, clean session)
    };
    client.once('close', breakOff);
    const lane = async (): Promise<void> => {
      while (!stopped && !broken && client.connected) {
        const reading = resend.shift() ?? fresh();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            client.publishAsync(
              telemetryTopicOf(device.site, device.id),
              JSON.stringify({ seq: reading.seq, ts: reading.ts, metrics: { hopper_temp: reading.value } }),
              { qos: 1 },
            ),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('no PUBACK')), PUBLISH_TIMEOUT);
            }),
          ]);
          acked.set(reading.seq, { ...reading, at: Date.now() });
        } catch {
          resend.push(reading); // not acknowledged: sent again on the next connection
          if (!broken) breakOff();
          return;
        } finally {
          clearTimeout(timer);
        }
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    if (!broken) client.end(true);
  };

  const done = (async () => {
    while (!stopped) {
      const client = await tryConnect(route().mqttUrls[0] as string, device, 2_000);
      if (!client) {
        await sleep(200);
        continue;
      }
      connections += 1;
      current = client;
      await session(client);
      current = null;
      if (!stopped) await sleep(100);
    }
  })();

  return {
    device,
    sent,
    acked,
    get connections() {
      return connections;
    },
    /** The balancer closes the connection: readings in flight are resent on the next one, wherever `route` says. */
    drop() {
      current?.end(true);
    },
    async stop() {
      stopped = true;
      await Promise.race([done, sleep(PUBLISH_TIMEOUT + 1_000)]);
      current?.end(true);
    },
  };
}

/**
 * What a cluster load test runs — its Redis, webhook receiver, gateway nodes and load devices — stopped after the
 * test file (the `afterAll` is registered here).
 */
export function loadClusterParts() {
  const parts = {
    redis: undefined as PrivateRedis | undefined,
    receiver: undefined as WebhookReceiver | undefined,
    nodes: new Map<string, GatewayProcess>(),
    devices: [] as Array<ReturnType<typeof loadDevice>>,
  };
  afterAll(async () => {
    await Promise.all(parts.devices.map((d) => d.stop()));
    await Promise.all([...parts.nodes.values()].map((running) => running.stop()));
    await parts.receiver?.close();
    await parts.redis?.dispose();
  }, 30_000);
  return parts;
}

export async function get(node: GatewayProcess, path: string): Promise<any> {
  const response = await fetch(`${node.httpUrl}${path}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  const type = response.headers.get('content-type') ?? '';
  return type.includes('json') ? response.json() : response.text();
}

/** Nothing waits in the node's InfluxDB spool nor its webhook outbox. */
export async function drained(node: GatewayProcess): Promise<boolean> {
  const metrics = (await get(node, '/metrics')) as string;
  if (metricValue(metrics, 'gateway_sink_queued', { sink: 'influx' }) > 0) return false;
  const { subscribers } = (await get(node, '/api/webhooks')) as { subscribers: Array<{ queued: number; inFlight: number }> };
  return subscribers.every((s) => s.queued === 0 && s.inFlight === 0);
}

/** Waits (up to 30 s) until every one of `nodes` is drained (above); `what` names them in a timeout. */
export async function untilDrained(what: string, nodes: readonly GatewayProcess[]): Promise<void> {
  await eventually(what, async () => ((await Promise.all(nodes.map(drained))).every(Boolean) ? true : undefined), 30_000);
}

/** The node's open alarms: their ids by rule key (one id each, when no key is open twice). */
export async function openAlarmIdsByKey(node: GatewayProcess): Promise<Map<string, string[]>> {
  const open = (await get(node, '/api/alarms?state=open')).alarms as Array<{ key: string; id: string }>;
  const perKey = new Map<string, string[]>();
  for (const alarm of open) perKey.set(alarm.key, [...(perKey.get(alarm.key) ?? []), alarm.id]);
  return perKey;
}

/** Each alarm id's seq values delivered that are missing from 1..max. */
export function seqGaps(received: ReceivedWebhook[]): string[] {
  const seqs = new Map<string, Set<number>>();
  for (const hook of received) {
    const alarm = hook.event.data.alarm;
    seqs.set(alarm.id, (seqs.get(alarm.id) ?? new Set()).add(alarm.seq));
  }
  const gaps: string[] = [];
  for (const [id, set] of seqs) for (let k = 1; k <= Math.max(...set); k += 1) if (!set.has(k)) gaps.push(`${id}#${k}`);
  return gaps;
}

/** What the load devices sent and had acknowledged, and the checks of it against what InfluxDB stored. */
export function readingLedger(devices: ReadonlyArray<ReturnType<typeof loadDevice>>, database: string) {
  const acked = new Map(devices.map((d) => [d.device.id, [...d.acked.values()]]));
  const sent = new Map(devices.map((d) => [d.device.id, d.sent]));
  const storedKeys = async (): Promise<Set<string>> => {
    const out = await queryInflux(database, 'SELECT hopper_temp, device FROM telemetry').catch(() => []);
    return new Set(out.map((row) => `${row.device} ${new Date(row.time).getTime()}`));
  };
  const missing = (present: Set<string>): string[] =>
    [...acked].flatMap(([id, list]) => list.filter((r) => !present.has(`${id} ${r.ts}`)).map((r) => `${id}@${r.seq}`));
  return {
    acked,
    sent,
    ackedTotal: [...acked.values()].reduce((n, list) => n + list.length, 0),
    sentTotal: [...sent.values()].reduce((n, map) => n + map.size, 0),
    /** Acknowledged readings not (yet) in InfluxDB, `device@seq`. */
    missingNow: async (): Promise<string[]> => missing(await storedKeys()),
    /**
     * Waits for every acknowledged reading in InfluxDB, then checks each is stored once with the value that was
     * acknowledged (InfluxDB keeps one point per series and time: a second write of the same reading on a different
     * series would show as two rows) and that nothing was stored that was never sent. Returns the rows.
     */
    async expectStoredOnce(deviceIds: readonly string[]) {
      const rows = await eventually(
        'every acknowledged reading in influxd',
        async () => {
          const out = await queryInflux(database, 'SELECT hopper_temp, device FROM telemetry').catch(() => []);
          const present = new Set(out.map((row) => `${row.device} ${new Date(row.time).getTime()}`));
          return missing(present).length === 0 ? out : undefined;
        },
        15_000,
      ).catch(async (error: Error) => {
        const still = missing(await storedKeys());
        throw new Error(`${error.message}; ${still.length} acknowledged readings missing, e.g. ${still.slice(0, 10).join(', ')}`);
      });
      const stored = hopperValuesByDevice(rows);
      for (const id of deviceIds) {
        const mine = stored.get(id) ?? new Map<number, number[]>();
        for (const reading of acked.get(id) ?? [])
          expect(mine.get(reading.ts), `${id} seq ${reading.seq} stored once`).toEqual([reading.value]);
        const sentByTs = new Map([...(sent.get(id)?.values() ?? [])].map((r) => [r.ts, r.value]));
        for (const [ts, values] of mine) expect(values, `${id} ts ${ts} was sent`).toEqual([sentByTs.get(ts)]);
      }
      return rows;
    },
  };
}

/**
 * The webhooks received, first delivery of each `webhook-id` (a repeated delivery is allowed: at least once), every
 * one of them signed, the hopper alarm's among them; indexed per alarm key, per alarm id and seq.
 */
export function webhookLedger(received: readonly ReceivedWebhook[]) {
  const byWebhookId = new Map<string, ReceivedWebhook>();
  for (const hook of received)
    if (!byWebhookId.has(String(hook.headers['webhook-id']))) byWebhookId.set(String(hook.headers['webhook-id']), hook);
  expect(
    received.every((hook) => hook.verified),
    'every delivery signed',
  ).toBe(true);
  const events = [...byWebhookId.values()];
  const hopper = events.filter((hook) => hook.event.data.alarm.rule === 'hopper_temp_high');
  expect(hopper.length, 'hopper alarm events delivered').toBeGreaterThan(30);
  const idsOfKey = new Map<string, Set<string>>();
  const eventIdsOf = new Map<string, Set<string>>();
  const seqsOf = new Map<string, Set<number>>();
  for (const hook of events) {
    const alarm = hook.event.data.alarm;
    idsOfKey.set(alarm.key, (idsOfKey.get(alarm.key) ?? new Set()).add(alarm.id));
    eventIdsOf.set(`${alarm.id}#${alarm.seq}`, (eventIdsOf.get(`${alarm.id}#${alarm.seq}`) ?? new Set()).add(hook.event.id));
    seqsOf.set(alarm.id, (seqsOf.get(alarm.id) ?? new Set()).add(alarm.seq));
  }
  return { events, hopper, idsOfKey, eventIdsOf, seqsOf, repeated: received.length - byWebhookId.size };
}

/** Per alarm: one event id per seq, every seq from 1 without a gap, and as many delivered as its history on `node` holds. */
export async function expectDeliveredAsRecorded(ledger: ReturnType<typeof webhookLedger>, node: GatewayProcess): Promise<void> {
  for (const [at, ids] of ledger.eventIdsOf) expect([...ids], `${at}: one event`).toHaveLength(1);
  for (const [id, seqs] of ledger.seqsOf) {
    const sorted = [...seqs].sort((a, b) => a - b);
    expect(sorted, `alarm ${id}: every seq, no gap`).toEqual(Array.from({ length: sorted.length }, (_, k) => k + 1));
    const { history } = (await get(node, `/api/alarms/${id}`)) as { history: unknown[] };
    expect(history.length, `alarm ${id}: delivered = recorded`).toBe(sorted.length);
  }
}
