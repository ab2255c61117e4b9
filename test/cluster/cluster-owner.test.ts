import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFormed, clusterForTests, viewerGet as get } from '../helpers/cluster-nodes.js';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { listenToAlarmStream, type SseListener } from '../helpers/sse-listener.js';
import { eventually, type TestDevice, TOKENS } from '../helpers/test-gateway.js';
import type { ReceivedWebhook } from '../helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('cluster-owner-secret-32-bytes-ok').toString('base64')}`;
const NODES = ['gw-a', 'gw-b', 'gw-c'] as const;
/**
 * Every device reports every 2 s: silent after three missed reports, 6 s (with 1 s, a loaded 2-core machine running
 * three nodes let a site's new owner call a device silent before its first reading arrived: the test's, not the
 * gateway's, timing).
 */
const DEVICES: TestDevice[] = Array.from({ length: 6 }, (_, i) => ({
  id: `dc-${i + 1}`,
  site: `plant-${i + 1}`,
  profile: 'dust-collector',
  secret: `secret-dc-${i + 1}`,
  attributes: { reportingIntervalMs: 2_000 },
}));

const raised = (received: ReceivedWebhook[], device: string, rule: string): ReceivedWebhook[] =>
  received.filter((r) => r.event.type === 'alarm.raised' && r.event.data.alarm.device === device && r.event.data.alarm.rule === rule);

describe('one owner per site: a reading is judged by its site’s owner wherever the device is connected (issue 16)', () => {
  const cluster = clusterForTests(NODES, DEVICES, SECRET);
  const { node } = cluster;
  const clients: MqttClient[] = [];
  let owners: Record<string, string> = {};
  /** A device as plants run them: it reconnects, and resends what was not acknowledged. */
  const connectTo = async (id: string, device: TestDevice): Promise<MqttClient> => {
    const client = await connectDevice(node(id).mqttUrls[0] as string, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
      reconnectPeriod: 300,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    owners = await clusterFormed(cluster.nodes);
  }, 30_000);

  afterAll(() => {
    for (const client of clients) client.end(true);
  });

  it('a device connected to a node that does not own its site: PUBACK from the owner’s verdict, one alarm, on the owner, and no false silence', async () => {
    const device = DEVICES[0] as TestDevice;
    const owner = owners[device.site] as string;
    const connectedTo = NODES.find((id) => id !== owner) as string;
    const client = await connectTo(connectedTo, device);
    const topic = telemetryTopicOf(device.site, device.id);
    // six seconds of reports every 500 ms, the last ones hot: the owner sees them all (else it would call it silent)
    for (let i = 0; i < 12; i += 1) {
      await publishJson(client, topic, { ts: Date.now(), metrics: { hopper_temp: i < 8 ? 40 : 65 } }, 1);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await eventually('the hot reading raised its alarm', () => raised(cluster.receiver.received, device.id, 'hopper_temp_high')[0]);
    // the other devices never report: each goes silent once, raised by its own site's owner (not by all three nodes)
    await eventually('every silent device raised once', () =>
      DEVICES.slice(1).every((d) => raised(cluster.receiver.received, d.id, 'device_silent').length >= 1) ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(raised(cluster.receiver.received, device.id, 'hopper_temp_high')).toHaveLength(1);
    expect(raised(cluster.receiver.received, device.id, 'device_silent')).toHaveLength(0);
    for (const d of DEVICES.slice(1)) expect(raised(cluster.receiver.received, d.id, 'device_silent')).toHaveLength(1);

    const hopperAlarms = async (id: string) =>
      ((await get(node(id), '/api/alarms?state=all')).alarms as Array<{ device: string; rule: string }>).filter(
        (alarm) => alarm.device === device.id && alarm.rule === 'hopper_temp_high',
      );
    const onOwner = await hopperAlarms(owner);
    expect(onOwner).toHaveLength(1);
    // the node the device is connected to shows the owner's alarm (the same one), it raised none of its own
    expect(
      await eventually('the connected node shows it', async () =>
        (await hopperAlarms(connectedTo)).length > 0 ? hopperAlarms(connectedTo) : undefined,
      ),
    ).toEqual(onOwner);
    // every node shows the device online (one connection, on the node it is connected to) with the owner's last values
    for (const id of NODES) {
      const shown = await eventually(`${id} shows the device online`, async () => {
        const devices = (await get(node(id), '/api/devices')).devices as Array<{
          id: string;
          online: boolean;
          connections: number;
          lastValues: Record<string, unknown>;
        }>;
        const found = devices.find((d) => d.id === device.id);
        return found?.online && found.lastValues.hopper_temp === 65 ? found : undefined;
      });
      expect(shown.connections).toBe(1);
    }
    // the twelve PUBLISH went through the connected node to the owner, each judged there
    const forwarded = await (await fetch(`${node(connectedTo).httpUrl}/metrics`)).text();
    expect(Number(/^gateway_cluster_forwarded_total\{outcome="judged"\} (\d+)/m.exec(forwarded)?.[1])).toBe(12);
  }, 60_000);

  it('every node shows every alarm; an operator on a node that does not judge the site acknowledges it there; every stream and the webhook say so once', async () => {
    const device = DEVICES[0] as TestDevice;
    const owner = owners[device.site] as string;
    const elsewhere = NODES.find((id) => id !== owner) as string;
    const hot = (raised(cluster.receiver.received, device.id, 'hopper_temp_high')[0] as ReceivedWebhook).event.data.alarm;
    const streams: SseListener[] = NODES.map((id) => listenToAlarmStream(node(id).httpUrl, TOKENS.viewer));
    try {
      await Promise.all(streams.map((stream) => stream.ready));
      // the same alarms, the same seq, on every node's API — whichever node judges their site
      const listing = async (id: string) =>
        ((await get(node(id), '/api/alarms?state=all')).alarms as Array<{ id: string; seq: number }>)
          .map((alarm) => `${alarm.id}@${alarm.seq}`)
          .sort();
      const agreed = await eventually('every node lists the same alarms', async () => {
        const lists = await Promise.all(NODES.map(listing));
        return lists.every((list) => list.join() === lists[0]?.join()) && (lists[0]?.length ?? 0) >= DEVICES.length ? lists[0] : undefined;
      });
      expect(agreed).toContain(`${hot.id}@${hot.seq}`);
      const detail = await get(node(elsewhere), `/api/alarms/${hot.id}`);
      expect(detail.history.map((step: { type: string }) => step.type)).toEqual(['alarm.raised']);

      const response = await fetch(`${node(elsewhere).httpUrl}/api/alarms/${hot.id}/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'Wang Li (duty officer)', note: 'checked on site' }),
      });
      expect(response.status).toBe(200);
      const acked = ((await response.json()) as { alarm: unknown }).alarm;
      expect(acked).toMatchObject({ id: hot.id, acknowledged: true, acknowledgedBy: 'Wang Li (duty officer)', seq: hot.seq + 1 });
      // the owner took it: its book, the webhook (once), every node's stream and API
      const ackHooks = () =>
        cluster.receiver.received.filter((r) => r.event.type === 'alarm.acknowledged' && r.event.data.alarm.id === hot.id);
      await eventually('the webhook of the acknowledgement', () => ackHooks()[0]);
      const ackEvents = await eventually('every stream carried the acknowledgement', () => {
        const seen = streams.map((stream) =>
          stream.events.filter((e) => e.data.type === 'alarm.acknowledged' && e.data.data.alarm.id === hot.id),
        );
        return seen.every((list) => list.length === 1) ? seen.map((list) => list[0]?.data.id) : undefined;
      });
      expect(new Set(ackEvents).size).toBe(1);
      expect(ackEvents[0]).toBe(ackHooks()[0]?.event.id);
      for (const id of NODES) {
        expect((await get(node(id), `/api/alarms/${hot.id}`)).alarm).toMatchObject({ acknowledged: true, seq: hot.seq + 1 });
      }
      // the audit log of every node records it, as done on the node the duty officer used
      for (const id of NODES) {
        const entry = await eventually(`${id}'s audit log has the acknowledgement`, async () => {
          const response = await fetch(`${node(id).httpUrl}/api/audit?action=alarm.ack&target=${hot.id}`, {
            headers: { authorization: `Bearer ${TOKENS.admin}` },
          });
          const entries = ((await response.json()) as { entries: Array<{ by: string | null; outcome: string }> }).entries;
          return entries.length > 0 ? entries : undefined;
        });
        expect(entry).toHaveLength(1);
        expect(entry[0]).toMatchObject({ outcome: 'ok', by: 'Wang Li (duty officer)' });
      }
      // acknowledging again, anywhere: the owner's answer, a conflict
      const again = await fetch(`${node(elsewhere).httpUrl}/api/alarms/${hot.id}/ack`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'Wang Li (duty officer)' }),
      });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { error: { code: string } }).error.code).toBe('alarm_already_acknowledged');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(ackHooks()).toHaveLength(1);
      const ids = cluster.receiver.received.map((r) => String(r.headers['webhook-id']));
      expect(new Set(ids).size).toBe(ids.length);
    } finally {
      for (const stream of streams) stream.close();
    }
  }, 60_000);

  it('kill -9 of the owner: its sites move with their state — the same alarms go on (same id, next seq), none raised twice, no silence clock restarted', async () => {
    const device = DEVICES[0] as TestDevice;
    const oldOwner = owners[device.site] as string;
    const survivors = NODES.filter((id) => id !== oldOwner);
    const connectedTo = survivors[0] as string;
    // the device stopped reporting after the first test: its silence alarm is raised before the kill
    await eventually(
      'the device went silent',
      () => (raised(cluster.receiver.received, device.id, 'device_silent').length === 1 ? true : undefined),
      20_000,
    );
    const hot = (raised(cluster.receiver.received, device.id, 'hopper_temp_high')[0] as ReceivedWebhook).event.data.alarm;
    const lastSeq = Math.max(
      ...cluster.receiver.received.filter((r) => r.event.data.alarm.id === hot.id).map((r) => r.event.data.alarm.seq),
    );
    node(oldOwner).child.kill('SIGKILL');
    const killedAt = Date.now();
    const newOwner = await eventually('the site moved', async () => {
      const view = await get(node(connectedTo), '/api/cluster');
      const owner = view.owners[device.site] as string;
      return view.members.length === 2 && owner !== oldOwner ? owner : undefined;
    });
    expect(survivors).toContain(newOwner);
    // within memberTimeout (2 s) and a heartbeat; the margin is for a loaded machine
    expect(Date.now() - killedAt).toBeLessThan(2_000 + 200 + 3_000);
    // the new owner took the site over with the old owner's open alarms: the same ids, before any new reading
    const listed = await eventually('the new owner lists the old owner’s alarms', async () => {
      const alarms = (await get(node(newOwner), '/api/alarms')).alarms as Array<{ id: string; device: string; rule: string; seq: number }>;
      const mine = alarms.filter((alarm) => alarm.device === device.id);
      return mine.some((alarm) => alarm.id === hot.id) ? mine : undefined;
    });
    expect(listed.map((alarm) => alarm.rule).sort()).toEqual(['device_silent', 'hopper_temp_high']);
    expect(listed.find((alarm) => alarm.id === hot.id)?.seq).toBe(lastSeq);

    // back to normal through a survivor: both alarms clear — the same alarms, the next seq, once each
    const client = await connectTo(connectedTo, device);
    const topic = telemetryTopicOf(device.site, device.id);
    await publishJson(client, topic, { ts: Date.now(), metrics: { hopper_temp: 30 } }, 1);
    const cleared = await eventually('the hot alarm cleared', () =>
      cluster.receiver.received.find((r) => r.event.type === 'alarm.cleared' && r.event.data.alarm.id === hot.id),
    );
    expect(cleared.event.data.alarm.seq).toBe(lastSeq + 1);
    // the devices that never report, whose sites moved too, are not called silent a second time by the new owner
    // (a silence clock restarted at the takeover would fire 6 s after it)
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    expect(raised(cluster.receiver.received, device.id, 'hopper_temp_high')).toHaveLength(1);
    for (const d of DEVICES.slice(1)) expect(raised(cluster.receiver.received, d.id, 'device_silent')).toHaveLength(1);
    // the device itself went quiet again after its one reading: the same silence alarm comes back (not a new one)
    const silence = raised(cluster.receiver.received, device.id, 'device_silent').map((r) => r.event.data.alarm.id);
    expect(new Set(silence).size).toBe(1);
    expect(cluster.receiver.received.filter((r) => r.event.type === 'alarm.cleared' && r.event.data.alarm.id === hot.id)).toHaveLength(1);
  }, 90_000);
});
