import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterFormed, clusterForTests, viewerGet as get } from '../helpers/cluster-nodes.js';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { eventually, type TestDevice } from '../helpers/test-gateway.js';

const SECRET = `whsec_${Buffer.from('cluster-inhibit-secret-32-bytes!').toString('base64')}`;
const NODES = ['gw-a', 'gw-b'] as const;
const SITE = 'plant-1';
const METER: TestDevice = {
  id: 'meter-1',
  site: SITE,
  profile: 'power',
  secret: 'secret-meter-1',
  attributes: { meter_role: 'main', p_idle_kw: 80, p_prod_kw: 1000, contracted_kw: 1500, declared_status: 'producing' },
};
/** Two dust collectors that never report: silent 15 s after the gateways start (three reporting intervals). */
const MONITORS: TestDevice[] = [1, 2].map((i) => ({
  id: `dc-${i}`,
  site: SITE,
  profile: 'dust-collector',
  secret: `secret-dc-${i}`,
  attributes: { reportingIntervalMs: 5_000 },
}));

/**
 * In a cluster the inhibition state must go with its site: what an inhibitor holds when its owner dies is released
 * by the next owner when the inhibitor ends. Before, it stayed in the memory of the dead node: the site's monitors,
 * silent behind its power off, were never called silent once the power was back (their silence rules had already
 * turned true, and nothing held them any more).
 */
describe('inhibition in a cluster: what an inhibitor holds goes with its site to the next owner', () => {
  const cluster = clusterForTests(NODES, [METER, ...MONITORS], SECRET);
  const { nodes, node } = cluster;
  let meter: MqttClient | null = null;

  afterAll(() => {
    meter?.end(true);
  });

  it("the monitors' silence held behind the site's power off: after a kill -9 of the owner the survivor holds it, and raises it when the power is back", async () => {
    const owners = await clusterFormed(nodes);
    const owner = owners[SITE] as string;
    const survivor = NODES.find((id) => id !== owner) as string;
    const delivered = () => cluster.receiver.received.map((r) => `${r.event.type} ${r.event.data.alarm.key}`);

    // the site's power is off (the meter is connected to the node that will survive; the owner judges its readings)
    meter = await connectDevice(node(survivor).mqttUrls[0] as string, {
      clientId: METER.id,
      username: METER.id,
      password: METER.secret,
      reconnectPeriod: 300,
    });
    await publishJson(meter, telemetryTopicOf(SITE, METER.id), { ts: Date.now(), metrics: { active_power: 0, energy: 0 } }, 1);
    await eventually('the power off raised', () =>
      delivered().includes(`alarm.raised ${SITE}/meter-1/site_power_off`) ? true : undefined,
    );
    const heldOn = async (id: string): Promise<string[]> =>
      ((await get(node(id), '/api/inhibitions')).held as Array<{ key: string }>).map((h) => h.key).sort();
    const silences = MONITORS.map((m) => `${SITE}/${m.id}/device_silent`);
    await eventually(
      'both monitors silent, held behind the power off',
      async () => ((await heldOn(owner)).join() === silences.join() ? true : undefined),
      30_000,
    );
    expect(delivered().filter((d) => d.endsWith('device_silent'))).toEqual([]);
    // the other node shows them too (as the owner wrote them), and the power off holding them
    await eventually('the other node shows the held silences', async () =>
      (await heldOn(survivor)).join() === silences.join() ? true : undefined,
    );
    const shownElsewhere = (await get(node(survivor), '/api/inhibitions')) as {
      inhibitors: Array<{ key: string }>;
      held: Array<{ key: string; inhibitedBy: string }>;
    };
    expect(shownElsewhere.held.map((h) => h.inhibitedBy)).toEqual([`${SITE}/meter-1/site_power_off`, `${SITE}/meter-1/site_power_off`]);
    expect(shownElsewhere.inhibitors.map((i) => i.key).sort()).toEqual([...silences, `${SITE}/meter-1/site_power_off`].sort());

    node(owner).child.kill('SIGKILL');
    await eventually('the site moved to the survivor', async () => {
      const view = await get(node(survivor), '/api/cluster');
      return view.members.length === 1 && view.owners[SITE] === survivor ? true : undefined;
    });
    // the survivor took the inhibitor and what it holds with the site
    await eventually('the survivor holds the silences', async () =>
      (await heldOn(survivor)).join() === silences.join() ? true : undefined,
    );
    const inhibitors = (await get(node(survivor), '/api/inhibitions')).inhibitors as Array<{ key: string }>;
    // the power off, and each silence (itself an inhibitor of its device's other alarms, though held)
    expect(inhibitors.map((i) => i.key).sort()).toEqual([...silences, `${SITE}/meter-1/site_power_off`].sort());
    expect(delivered().filter((d) => d.endsWith('device_silent'))).toEqual([]);

    // the power is back, the monitors are still silent: now their silence alarms go out, once each
    await publishJson(meter, telemetryTopicOf(SITE, METER.id), { ts: Date.now(), metrics: { active_power: 900, energy: 225 } }, 1);
    await eventually('the silences raised', () =>
      silences.every((key) => delivered().includes(`alarm.raised ${key}`)) ? true : undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      delivered()
        .filter((d) => d.endsWith('device_silent'))
        .sort(),
    ).toEqual(silences.map((key) => `alarm.raised ${key}`));
    expect(delivered()).toContain(`alarm.cleared ${SITE}/meter-1/site_power_off`);
    expect(await heldOn(survivor)).toEqual([]);
  }, 90_000);
});
