import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterFormed, clusterForTests, quietDustCollectors, viewerGet } from '../helpers/cluster-nodes.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { exposedMetric } from '../helpers/metrics-text.js';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { eventually, type TestDevice, TOKENS } from '../helpers/test-gateway.js';

const SECRET = `whsec_${Buffer.from('cluster-duplicate-secret-32-byte').toString('base64')}`;
const NODES = ['gw-a', 'gw-b'] as const;
/** Devices that report rarely: none goes silent while the test runs. */
const DEVICES = quietDustCollectors(4);
const MINUTE = 60_000;

async function duplicatesCounted(node: GatewayProcess): Promise<number> {
  const response = await fetch(`${node.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
  return exposedMetric(await response.text(), 'gateway_ingest_rejections_total', { reason: 'duplicate' });
}

const stuckAlarms = async (node: GatewayProcess): Promise<unknown[]> =>
  ((await viewerGet(node, '/api/alarms')).alarms as Array<{ rule: string }>).filter((alarm) => alarm.rule === 'diff_pressure_stuck');

/**
 * The contract: a repeated `seq` with the same `ts` is a duplicate, never double-alarmed, also across a restart. In a
 * cluster the owner of a site may die after its write and before the device has its PUBACK; the device sends the
 * reading again, to the node that took the site. Before, that node judged it as new: here the ΔP transmitter's
 * "stuck" rule (10 samples within 0 Pa over 30 minutes) counted the re-sent ninth sample as the tenth and raised a
 * false alarm.
 */
describe('a reading sent again after its owner died is a duplicate on the node that took its site', () => {
  const cluster = clusterForTests(NODES, DEVICES, SECRET);
  const { nodes, node } = cluster;
  const clients: MqttClient[] = [];

  afterAll(() => {
    for (const client of clients) client.end(true);
  });

  it('the survivor counts it as a duplicate and raises nothing on it; the next new sample is judged with the state it took over', async () => {
    const owners = await clusterFormed(nodes);
    const device = DEVICES[0] as TestDevice;
    const owner = owners[device.site] as string;
    const survivor = NODES.find((id) => id !== owner) as string;
    const topic = telemetryTopicOf(device.site, device.id);
    const credentials = { clientId: device.id, username: device.id, password: device.secret, reconnectPeriod: 0 };

    // nine samples of a flat ΔP with the fan running, 4 minutes apart (32 minutes): one short of the stuck rule's ten
    const now = Date.now();
    const sample = (seq: number) => ({
      ts: now - 36 * MINUTE + seq * 4 * MINUTE,
      seq,
      metrics: { diff_pressure: 1210, hopper_temp: 38.5, rotary_valve: 'running', fan_running: true },
    });
    const first = await connectDevice(node(owner).mqttUrls[0] as string, credentials);
    clients.push(first);
    for (let seq = 1; seq <= 9; seq += 1) await publishJson(first, topic, sample(seq), 1);
    expect(await stuckAlarms(node(owner))).toEqual([]);

    // the owner dies; the device reconnects to the survivor, which takes the site over
    node(owner).child.kill('SIGKILL');
    first.end(true);
    await eventually('the site moved to the survivor', async () => {
      const view = await viewerGet(node(survivor), '/api/cluster');
      return view.members.length === 1 && view.owners[device.site] === survivor ? true : undefined;
    });
    const duplicatesBefore = await duplicatesCounted(node(survivor));
    const second = await connectDevice(node(survivor).mqttUrls[0] as string, credentials);
    clients.push(second);

    // the ninth sample again, as a device sends one whose PUBACK it never had: acknowledged, counted, not judged
    await publishJson(second, topic, sample(9), 1);
    await eventually('the survivor counts the duplicate', async () =>
      (await duplicatesCounted(node(survivor))) === duplicatesBefore + 1 ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stuckAlarms(node(survivor))).toEqual([]);
    expect(cluster.receiver.received.filter((r) => r.event.data.alarm.rule === 'diff_pressure_stuck')).toEqual([]);

    // a tenth sample, new: the rule's count came across with the site, and this one raises it
    await publishJson(second, topic, sample(10), 1);
    await eventually('the stuck alarm raised on the tenth sample', async () =>
      (await stuckAlarms(node(survivor))).length === 1 ? true : undefined,
    );
  }, 90_000);
});
