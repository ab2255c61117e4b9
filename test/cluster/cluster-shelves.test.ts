import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterFormed, clusterForTests, quietDustCollectors } from '../helpers/cluster-nodes.js';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { eventually, type TestDevice, TOKENS } from '../helpers/test-gateway.js';

const SECRET = `whsec_${Buffer.from('cluster-shelves-secret-32-bytes!').toString('base64')}`;
const NODES = ['gw-a', 'gw-b'] as const;
/** Devices that report rarely: none goes silent while the test runs. */
const DEVICES = quietDustCollectors(4);

interface Shelf {
  id: string;
  site: string;
  scope: string;
  endedAt: string | null;
}

async function call(node: GatewayProcess, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${node.httpUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${body === undefined ? TOKENS.viewer : TOKENS.operator}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * In a cluster a maintenance window must hold where its site's alarms are raised — on the site's owner, whichever
 * node the duty officer used — and go on holding when the site moves to another node. Before, it stayed in the
 * memory of the node that was asked: declared there (201), it held nothing of a site another node judged.
 */
describe('maintenance windows in a cluster: taken where the site is judged, shown on every node, handed on with the site', () => {
  const cluster = clusterForTests(NODES, DEVICES, SECRET);
  const { nodes, node } = cluster;
  let client: MqttClient | null = null;

  afterAll(() => {
    client?.end(true);
  });

  it('a window declared on the node that does not judge the site holds the alarm there, and after a kill -9 of that owner on the survivor', async () => {
    const owners = await clusterFormed(nodes);
    const device = DEVICES[0] as TestDevice;
    const owner = owners[device.site] as string;
    const asked = NODES.find((id) => id !== owner) as string;

    // declared on the node that does not judge the site: taken by the owner, the answer is the owner's
    const declared = await call(node(asked), '/api/shelves', {
      scope: 'site',
      site: device.site,
      reason: 'filter bags replaced',
      durationMinutes: 30,
      by: 'Wang Li',
    });
    expect(declared.status).toBe(201);
    const window = declared.body.shelf as Shelf;
    expect(window).toMatchObject({ scope: 'site', site: device.site, endedAt: null });
    // listed on both nodes, and found by id on both
    for (const id of NODES) {
      await eventually(`${id} lists the window`, async () =>
        ((await call(node(id), '/api/shelves')).body.shelves as Shelf[]).some((shelf) => shelf.id === window.id) ? true : undefined,
      );
      expect((await call(node(id), `/api/shelves/${window.id}`)).body.shelf).toMatchObject({ id: window.id, site: device.site });
    }

    // the hot reading reaches the owner (through the other node): the alarm is raised there, held by the window
    client = await connectDevice(node(asked).mqttUrls[0] as string, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
      reconnectPeriod: 300,
    });
    await publishJson(client, telemetryTopicOf(device.site, device.id), { ts: Date.now(), metrics: { hopper_temp: 65 } }, 1);
    const shelved = await eventually('the owner lists the alarm, shelved by the window', async () => {
      const alarms = (await call(node(owner), '/api/alarms')).body.alarms as Array<{
        id: string;
        rule: string;
        shelved?: { shelf: string };
      }>;
      return alarms.find((alarm) => alarm.rule === 'hopper_temp_high' && alarm.shelved?.shelf === window.id);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const delivered = (type: string) =>
      cluster.receiver.received.filter((r) => r.event.type === type && r.event.data.alarm.id === shelved.id);
    expect(delivered('alarm.raised')).toHaveLength(0);

    // the owner dies: the site moves to the survivor with its window, which goes on holding the alarm
    node(owner).child.kill('SIGKILL');
    await eventually('the site moved to the survivor', async () => {
      const view = (await call(node(asked), '/api/cluster')).body;
      return view.members.length === 1 && view.owners[device.site] === asked ? true : undefined;
    });
    const alarm = await eventually('the survivor judges the alarm, still shelved', async () => {
      const alarms = (await call(node(asked), '/api/alarms')).body.alarms as Array<{ id: string; shelved?: { shelf: string } }>;
      return alarms.find((a) => a.id === shelved.id && a.shelved?.shelf === window.id);
    });
    expect(alarm).toBeDefined();
    // hotter, past orange: the escalation is held too, on the survivor
    await publishJson(client, telemetryTopicOf(device.site, device.id), { ts: Date.now(), metrics: { hopper_temp: 75 } }, 1);
    await eventually('the survivor escalated the alarm, still shelved', async () => {
      const alarms = (await call(node(asked), '/api/alarms')).body.alarms as Array<{
        id: string;
        severity: string;
        shelved?: { shelf: string };
      }>;
      return alarms.find((a) => a.id === shelved.id && a.severity === 'orange' && a.shelved?.shelf === window.id);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(delivered('alarm.raised')).toHaveLength(0);
    expect(delivered('alarm.escalated')).toHaveLength(0);

    // ended on the survivor: the alarm comes out of the window once — unshelved, then raised
    const ended = await call(node(asked), `/api/shelves/${window.id}/end`, { by: 'Wang Li', note: 'bags in' });
    expect(ended.status).toBe(200);
    expect(ended.body.shelf.endedAt).not.toBeNull();
    await eventually('the alarm is delivered at the end of the window', () => (delivered('alarm.raised').length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(delivered('alarm.unshelved')).toHaveLength(1);
    expect(delivered('alarm.raised')).toHaveLength(1);
    expect(delivered('alarm.raised')[0]?.event.data.alarm.severity).toBe('orange');
    const listed = (await call(node(asked), '/api/shelves?state=all')).body.shelves as Shelf[];
    expect(listed.find((shelf) => shelf.id === window.id)?.endedAt).not.toBeNull();
  }, 90_000);
});
