import type { PublishPacket } from 'aedes';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { type InProcessBroker, type InProcessBrokerOptions, startInProcessBroker } from '../../../test/helpers/in-process-broker.js';
import { connectDevice, grantedQos } from '../../../test/helpers/mqtt-device.js';
import { connectPacket, openRawSession, type RawSession, rawPublish } from '../../../test/helpers/raw-mqtt.js';

const TELEMETRY_01 = 'sites/site-a/devices/dc-01/telemetry';
const CMD_02 = 'sites/site-a/devices/dc-02/cmd';
const dc01 = { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' };
const dc02 = { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' };

let running: InProcessBroker | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  await running?.close();
  running = undefined;
});
async function start(options: InProcessBrokerOptions = {}): Promise<InProcessBroker> {
  running = await startInProcessBroker(options);
  return running;
}
async function client(gateway: InProcessBroker, options: Parameters<typeof connectDevice>[1]): Promise<MqttClient> {
  const connected = await connectDevice(gateway.url, { connectTimeout: 2_000, ...options });
  clients.push(connected);
  return connected;
}
/** The messages a client receives, by topic. */
function inbox(subscriber: MqttClient): Array<{ topic: string; payload: string; retain: boolean }> {
  const received: Array<{ topic: string; payload: string; retain: boolean }> = [];
  subscriber.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return received;
}
/** A round trip through the broker: everything published before it has been routed. */
const roundTrip = async (subscriber: MqttClient): Promise<void> => {
  await subscriber.subscribeAsync('never/sent', { qos: 1 }).catch(() => undefined);
};
const closedWithin = (session: RawSession, ms: number): Promise<boolean> =>
  Promise.race([session.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
async function rawDevice(gateway: InProcessBroker): Promise<RawSession> {
  const session = await openRawSession(gateway.url);
  session.send(connectPacket('dc-01', 'dc-01', 'secret-dc-01'));
  await until(() => session.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0));
  return session;
}
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await condition()); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(await condition()).toBe(true);
}

describe('device PUBLISH through the broker', () => {
  it('hands every PUBLISH to ingest with its session, ClientId, payload and the gateway clock, before the PUBACK', async () => {
    const clock = { now: 1_700_000_000_000 };
    const gateway = await start({ clock });
    const device = await client(gateway, { ...dc01, clientId: 'dc-01:b' });
    await device.publishAsync(TELEMETRY_01, '{"metrics":{"t":1}}', { qos: 1 });
    expect(gateway.published).toHaveLength(1);
    const [publish] = gateway.published;
    expect(publish?.session).toMatchObject({ kind: 'device', device: { id: 'dc-01' } });
    expect(publish?.clientId).toBe('dc-01:b');
    expect(publish?.topic).toBe(TELEMETRY_01);
    expect(Buffer.isBuffer(publish?.payload) && publish.payload.toString()).toBe('{"metrics":{"t":1}}');
    expect(publish?.receivedAt).toBe(1_700_000_000_000);
  });

  it("acknowledges a client's PUBLISHes in the order they came (MQTT-4.6.0-2), one refused at once after one the lane still judges", async () => {
    // the first waits 50 ms for its verdict (the lane's commit), the second is refused at once (a forbidden topic)
    const gateway = await start({
      decide: (publish) =>
        publish.payload.toString() === 'slow' ? new Promise((resolve) => setTimeout(() => resolve('accept'), 50)) : 'drop',
    });
    const session = await rawDevice(gateway);
    session.send(
      Buffer.concat([rawPublish(TELEMETRY_01, Buffer.from('slow'), 1, 1), rawPublish(TELEMETRY_01, Buffer.from('at once'), 1, 2)]),
    );
    await until(() => session.packets.filter((p) => p.cmd === 'puback').length === 2);
    expect(session.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual([1, 2]);
    // and on: a third, refused at once with nothing before it, is acknowledged at once
    session.send(rawPublish(TELEMETRY_01, Buffer.from('at once'), 1, 3));
    await until(() => session.packets.filter((p) => p.cmd === 'puback').length === 3);
    session.destroy();
  });

  it('delivers an accepted PUBLISH to subscribers, and a dropped one to nobody, the publisher kept connected', async () => {
    const gateway = await start({ decide: (publish) => (publish.payload.toString() === 'bad' ? 'drop' : 'accept') });
    const receiver = await client(gateway, dc02);
    expect(await grantedQos(receiver, `${CMD_02}/#`)).toBe(1);
    const received = inbox(receiver);
    const sender = await client(gateway, dc01);
    await sender.publishAsync(`${CMD_02}/a`, 'bad', { qos: 1, retain: true });
    await sender.publishAsync(`${CMD_02}/b`, 'good', { qos: 1 });
    await until(() => received.length > 0);
    await roundTrip(receiver);
    expect(received).toEqual([{ topic: `${CMD_02}/b`, payload: 'good', retain: false }]);
    expect(sender.connected).toBe(true);
    // The dropped PUBLISH asked to be retained: nothing is retained, under its topic or elsewhere.
    const late = await client(gateway, { ...dc02, clientId: 'dc-02:late' });
    const lateReceived = inbox(late);
    await late.subscribeAsync(`${CMD_02}/#`, { qos: 1 });
    await roundTrip(late);
    expect(lateReceived).toEqual([]);
    const retained: PublishPacket[] = [];
    const { persistence } = gateway.broker as typeof gateway.broker & {
      persistence: { createRetainedStreamCombi(patterns: string[]): AsyncIterable<PublishPacket> };
    };
    for await (const packet of persistence.createRetainedStreamCombi(['$dropped/#', '#'])) retained.push(packet);
    expect(retained).toEqual([]);
  });

  it('closes the connection without a PUBACK when the telemetry lane is unavailable', async () => {
    const gateway = await start({ decide: () => 'unavailable' });
    const session = await rawDevice(gateway);
    session.send(rawPublish(TELEMETRY_01, Buffer.from('{}'), 1, 5));
    expect(await closedWithin(session, 2_000)).toBe(true);
    expect(session.packets.some((p) => p.cmd === 'puback')).toBe(false);
  });

  it('closes a connection publishing to a topic with U+0000 or at QoS 1 with packet id 0, counted, before ingest', async () => {
    const gateway = await start();
    const nul = await rawDevice(gateway);
    nul.send(rawPublish(`${TELEMETRY_01}\u0000x`, Buffer.from('{}'), 1, 3));
    expect(await closedWithin(nul, 2_000)).toBe(true);
    const zero = await rawDevice(gateway);
    zero.send(rawPublish(TELEMETRY_01, Buffer.from('{}'), 1, 0));
    expect(await closedWithin(zero, 2_000)).toBe(true);
    expect(nul.packets.some((p) => p.cmd === 'puback') || zero.packets.some((p) => p.cmd === 'puback')).toBe(false);
    expect(gateway.published).toEqual([]);
    expect(await gateway.count(gateway.metrics.mqttConnectionsClosed, { reason: 'protocol_error' })).toBe(2);
    const closed = gateway.logs.filter((line) => line.msg === 'connection closed by the gateway');
    expect(closed.map(({ level, clientId, violation }) => ({ level, clientId, violation }))).toEqual([
      { level: 30, clientId: 'dc-01', violation: 'topic contains U+0000 (MQTT-1.5.3-2)' },
      { level: 30, clientId: 'dc-01', violation: 'QoS > 0 PUBLISH with packet identifier 0 (MQTT-2.3.1-1)' },
    ]);
    expect(gateway.logs.filter((line) => line.msg === 'client error').map((line) => [line.level, line.clientId])).toEqual([
      [20, 'dc-01'],
      [20, 'dc-01'],
    ]);
    // QoS 0 carries no packet identifier: it is not a violation.
    const qos0 = await rawDevice(gateway);
    qos0.send(rawPublish(TELEMETRY_01, Buffer.from('{}'), 0, 0));
    await until(() => gateway.published.length === 1);
    expect(qos0.isClosed).toBe(false);
    qos0.destroy();
  });

  it('lets a Last Will stored without its client through, except on $SYS', async () => {
    const gateway = await start();
    const authorize = (topic: string) =>
      new Promise<Error | null | undefined>((resolve) =>
        gateway.broker.authorizePublish(null, { cmd: 'publish', topic, payload: 'offline', qos: 1, retain: true, dup: false }, resolve),
      );
    expect(await authorize('sites/site-a/devices/dc-01/status')).toBeNull();
    expect(await authorize('$SYS/broker/x')).toBeInstanceOf(Error);
    expect(gateway.published).toEqual([]);
  });
});

describe('SUBSCRIBE ACL', () => {
  it('grants a device its own cmd/# only, and refuses the rest with 0x80, counted', async () => {
    const gateway = await start();
    const device = await client(gateway, dc01);
    expect(await grantedQos(device, 'sites/site-a/devices/dc-01/cmd/#')).toBe(1);
    expect(await grantedQos(device, 'sites/site-a/devices/dc-01/cmd/reboot')).toBe(1);
    for (const filter of ['#', 'sites/site-a/devices/dc-01/#', 'sites/site-a/devices/+/cmd/#', `${CMD_02}/#`, TELEMETRY_01])
      expect(await grantedQos(device, filter), filter).toBe(128);
    expect(await gateway.count(gateway.metrics.mqttAclDenied, { action: 'subscribe' })).toBe(5);
    const lines = gateway.logs.filter((line) => line.msg === 'subscribe refused');
    expect(lines.map(({ level, clientId, filter }) => ({ level, clientId, filter }))[0]).toEqual({
      level: 30,
      clientId: 'dc-01',
      filter: '#',
    });
    expect(lines).toHaveLength(5);
  });

  it('grants a lab client what its allow list covers, minus sites/, its deny list and $dropped', async () => {
    const gateway = await start({ labMode: { enabled: true, allow: ['lab/#', 'sites/#', '#'], deny: ['lab/+/#', '+/secret'] } });
    const lab = await client(gateway, { clientId: 'lab-1' });
    expect(await grantedQos(lab, 'open/x')).toBe(1);
    expect(await grantedQos(lab, 'lab')).toBe(1);
    for (const filter of ['sites/#', 'sites', 'lab/#', 'lab/a/b', 'x/secret', '$x/secret', '$dropped/#', '$dropped'])
      expect(await grantedQos(lab, filter), filter).toBe(128);
    expect(await gateway.count(gateway.metrics.mqttAclDenied, { action: 'subscribe' })).toBe(8);
  });

  it('grants a lab client nothing outside its allow list', async () => {
    const gateway = await start({ labMode: { enabled: true, allow: ['lab/+'], deny: [] } });
    const lab = await client(gateway, { clientId: 'lab-1' });
    expect(await grantedQos(lab, 'lab/a')).toBe(1);
    expect(await grantedQos(lab, 'lab/#')).toBe(128);
    expect(await grantedQos(lab, 'other')).toBe(128);
  });

  it('does not forward device topics to a lab client subscribed to #', async () => {
    const gateway = await start({ labMode: { enabled: true, allow: ['#'], deny: [] } });
    const lab = await client(gateway, { clientId: 'lab-1' });
    expect(await grantedQos(lab, '#')).toBe(1);
    const received = inbox(lab);
    const device = await client(gateway, dc01);
    await device.publishAsync(TELEMETRY_01, '{}', { qos: 1 });
    await device.publishAsync('lab/from-device', 'hello', { qos: 1 });
    await until(() => received.length > 0);
    await roundTrip(lab);
    expect(received.map((m) => m.topic)).toEqual(['lab/from-device']);
    // A device subscribed to its own commands still gets them.
    const owner = await client(gateway, dc02);
    await owner.subscribeAsync(`${CMD_02}/#`, { qos: 1 });
    const ownerReceived = inbox(owner);
    await device.publishAsync(`${CMD_02}/go`, 'x', { qos: 1 });
    await until(() => ownerReceived.length > 0);
    expect(ownerReceived.map((m) => m.topic)).toEqual([`${CMD_02}/go`]);
  });
});

describe('connection bookkeeping', () => {
  it('counts connected clients and shows a device online while connected, offline after', async () => {
    const clock = { now: 5_000 };
    const gateway = await start({ clock, labMode: { enabled: true, allow: ['lab/#'], deny: [] } });
    const gauge = async () => (await gateway.metrics.mqttConnections.get()).values[0]?.value;
    const device = await client(gateway, dc01);
    await until(() => gateway.deviceStatus.get('dc-01').online);
    expect(gateway.deviceStatus.get('dc-01')).toMatchObject({ online: true, connections: 1, connectedAt: 5_000 });
    expect(await gauge()).toBe(1);
    const lab = await client(gateway, { clientId: 'lab-1' });
    await until(async () => (await gauge()) === 2);
    await device.endAsync();
    await until(() => !gateway.deviceStatus.get('dc-01').online);
    expect(gateway.deviceStatus.get('dc-01').connections).toBe(0);
    expect(await gauge()).toBe(1);
    await lab.endAsync();
    await until(async () => (await gauge()) === 0);
    expect(gateway.deviceStatus.get('dc-02').online).toBe(false);
    const debug = gateway.logs.filter((line) => line.level === 20).map((line) => [line.msg, line.clientId]);
    expect(debug).toEqual([
      ['client connected', 'dc-01'],
      ['client connected', 'lab-1'],
      ['client disconnected', 'dc-01'],
      ['client disconnected', 'lab-1'],
    ]);
  });
});
