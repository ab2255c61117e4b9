import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../gateway/src/config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../gateway/src/devices/device-registry.js';
import { REJECTION_REASONS } from '../gateway/src/ingest/rejection.js';
import { buildLaneCore, laneConfigOf } from '../gateway/src/lane/build-lane-core.js';
import { createLogger } from '../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../gateway/src/observability/metrics.js';
import { queryInflux } from './helpers/influx-query.js';
import { connackCode, connectDevice, grantedQos, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { connectPacket, openRawSession, pubrel, qos2Publish, type RawSession, rawPublish, remainingLength } from './helpers/raw-mqtt.js';
import {
  api,
  DUST_DEVICES,
  eventually,
  LANE_THREADS,
  metricValue,
  startTestGateway,
  type TestDevice,
  type TestGateway,
} from './helpers/test-gateway.js';
import { hostilePayload } from './support/hostile-payloads.js';

const metricsOf = async (gateway: TestGateway): Promise<string> => (await api(gateway, '/metrics')).body as string;
const DC01 = telemetryTopicOf('site-a', 'dc-01');

/** A raw session logged in as a device, its CONNACK 0 received. */
async function rawDevice(gateway: TestGateway, clientId: string, username: string, password: string): Promise<RawSession> {
  const session = await openRawSession(gateway.mqttUrl);
  session.send(connectPacket(clientId, username, password));
  await eventually('CONNACK', () => (session.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0) ? true : undefined), 5_000);
  return session;
}

const closedWithin = (session: RawSession, ms: number): Promise<boolean> =>
  Promise.race([session.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('connections cannot make the gateway buffer what they announce', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      overrides: {
        mqtt: { tcp: { host: '127.0.0.1', port: 0 }, maxPayloadBytes: 16 * 1024, maxPacketBytes: 64 * 1024, maxPreAuthBytes: 16 * 1024 },
      },
    });
  });
  afterAll(async () => gateway?.close());

  it('closes clients that announce huge packets before logging in; RSS stays within 64 MB of where it was', async () => {
    const CLIENTS = 6;
    const SENT_EACH = 32 * 1024 * 1024;
    const before = process.memoryUsage().rss;
    const sessions = await Promise.all(Array.from({ length: CLIENTS }, () => openRawSession(gateway.mqttUrl)));
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    let peak = before;
    await Promise.all(
      sessions.map(async (session) => {
        // CONNECT whose remaining length says 268,435,455 bytes (the MQTT maximum), then data towards it.
        session.send(Buffer.concat([Buffer.from([0x10]), remainingLength(268_435_455)]));
        for (let sent = 0; sent < SENT_EACH && !session.isClosed; sent += chunk.length) {
          if (!session.send(chunk)) await Promise.race([session.closed, new Promise((r) => setTimeout(r, 5))]);
          peak = Math.max(peak, process.memoryUsage().rss);
        }
      }),
    );
    for (const session of sessions) expect(await closedWithin(session, 5_000), 'the gateway closed the connection').toBe(true);
    const grown = `RSS grew by ${((peak - before) / 2 ** 20).toFixed(1)} MiB while ${CLIENTS} clients announced 256 MiB CONNECTs`;
    expect(peak - before, grown).toBeLessThan(64 * 2 ** 20);
    console.info(`pre-auth memory: ${grown}`);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'pre_auth_bytes' })).toBe(CLIENTS);
  });

  it('closes a client that sends more than mqtt.maxPreAuthBytes before its CONNECT is accepted', async () => {
    const session = await openRawSession(gateway.mqttUrl);
    // A valid CONNECT, and before its CONNACK ten 10 KiB publishes: 100 KiB with no login behind them yet.
    const publishes = Array.from({ length: 10 }, (_, i) => rawPublish(DC01, Buffer.alloc(10 * 1024, 0x20), 1, i + 1));
    session.send(Buffer.concat([connectPacket('dc-01', 'dc-01', 'secret-dc-01'), ...publishes]));
    expect(await closedWithin(session, 5_000)).toBe(true);
    expect(session.packets.some((p) => p.cmd === 'puback')).toBe(false);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'pre_auth_bytes' })).toBe(7);
  });

  it('answers a payload over maxPayloadBytes with too_large; one over maxPacketBytes too, read past without buffering it; closes a connection announcing any other packet that large', async () => {
    const session = await rawDevice(gateway, 'dc-01', 'dc-01', 'secret-dc-01');
    session.send(rawPublish(DC01, Buffer.alloc(32 * 1024, 0x20), 1, 7));
    await eventually('PUBACK for the too-large payload', () =>
      session.packets.some((p) => p.cmd === 'puback' && p.messageId === 7) ? true : undefined,
    );
    const { body } = await api(gateway, '/api/quarantine?reason=too_large');
    expect(body.entries[0].detail).toBe('32808 bytes > limit of 16384'.replace('32808', String(32 * 1024)));

    // 1 MB in 64 KiB reads: acknowledged in order, refused as too_large with its size, the connection kept
    const huge = rawPublish(DC01, Buffer.alloc(1_000_000, 0x7b), 1, 8);
    for (let from = 0; from < huge.length; from += 64 * 1024) session.send(huge.subarray(from, from + 64 * 1024));
    session.send(rawPublish(DC01, Buffer.from(JSON.stringify({ metrics: { hopper_temp: 41 } })), 1, 9));
    await eventually('PUBACKs 8 and 9', () => (session.packets.some((p) => p.cmd === 'puback' && p.messageId === 9) ? true : undefined));
    expect(session.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual([7, 8, 9]);
    const refused = (await api(gateway, '/api/quarantine?reason=too_large&device=dc-01')).body.entries;
    expect(refused[0]).toMatchObject({
      topic: DC01,
      detail: `packet of ${huge.length - 4} bytes > limit of 65536 (mqtt.maxPacketBytes): read past, its first 2048 bytes kept`,
      payload: '{'.repeat(2_048),
    });
    expect(session.isClosed).toBe(false);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'packet_too_large' })).toBe(0);

    // a SUBSCRIBE announcing 100 KiB: closed before it is buffered
    session.send(Buffer.concat([Buffer.from([0x82]), remainingLength(100 * 1024)]));
    expect(await closedWithin(session, 5_000)).toBe(true);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'packet_too_large' })).toBe(1);
  });
});

describe('MQTT 3.1.1 protocol errors get the answer the standard names', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => gateway?.close());

  it('answers an unsupported protocol level with CONNACK 1, then closes (MQTT-3.1.2-2)', async () => {
    for (const level of [0, 2, 6, 255]) {
      const session = await openRawSession(gateway.mqttUrl);
      const connect = connectPacket('dc-01', 'dc-01', 'secret-dc-01');
      connect[8] = level; // after the fixed header (2 bytes) and the protocol name (2 + 4 bytes)
      session.send(connect);
      expect(await closedWithin(session, 5_000), `level ${level}: closed`).toBe(true);
      expect(session.packets, `level ${level}`).toEqual([expect.objectContaining({ cmd: 'connack', returnCode: 1 })]);
    }
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'protocol_version' })).toBe(4);
  });

  it('closes a connection that publishes to a topic with U+0000 (MQTT-1.5.3-2) or at QoS 1 with packet id 0', async () => {
    const nul = await rawDevice(gateway, 'dc-01', 'dc-01', 'secret-dc-01');
    nul.send(rawPublish(`${DC01}\u0000x`, Buffer.from('{"metrics":{"hopper_temp":1}}'), 1, 3));
    expect(await closedWithin(nul, 5_000)).toBe(true);
    expect(nul.packets.some((p) => p.cmd === 'puback')).toBe(false);

    const zero = await rawDevice(gateway, 'dc-01', 'dc-01', 'secret-dc-01');
    zero.send(rawPublish(DC01, Buffer.from('{"metrics":{"hopper_temp":1}}'), 1, 0));
    expect(await closedWithin(zero, 5_000)).toBe(true);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'protocol_error' })).toBe(2);
    await gateway.settle();
    expect(await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-01'")).toEqual([]);
  });

  /** A packet of `type` (first byte) with `body` (remaining length added). */
  const packetOf = (first: number, ...parts: Buffer[]): Buffer => {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
  };
  const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
  const text = (bytes: Buffer | string): Buffer => {
    const raw = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    return Buffer.concat([u16(raw.length), raw]);
  };
  /** A device's CONNECT: `flags` over the user name, password and clean-session bits; `will` [topic, payload] when flagged. */
  const connectWith = (flags: number, clientId: Buffer | string, will?: [string, string]): Buffer =>
    packetOf(
      0x10,
      text('MQTT'),
      Buffer.from([4, flags]),
      u16(30),
      text(clientId),
      ...(will ? [text(will[0]), text(will[1])] : []),
      ...(flags & 0x80 ? [text('dc-01')] : []),
      ...(flags & 0x40 ? [text('secret-dc-01')] : []),
    );
  const STATUS = 'sites/site-a/devices/dc-01/status';
  const CMD = 'sites/site-a/devices/dc-01/cmd/';

  it('closes, without a CONNACK, a CONNECT the protocol forbids and aedes would take (a Will of QoS 3 published cut off its subscribers)', async () => {
    const closedBy = async () =>
      metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'protocol_error' });
    const before = await closedBy();
    const LOGIN = 0x80 | 0x40 | 0x02;
    const cases: Array<[string, Buffer]> = [
      ['a Will of QoS 3 (MQTT-3.1.2-14)', connectWith(LOGIN | 0x04 | 0x18, 'dc-01', [STATUS, 'offline'])],
      ['a Will topic with a wildcard (MQTT-4.7.1-1)', connectWith(LOGIN | 0x04 | 0x08, 'dc-01', ['sites/site-a/devices/dc-01/#', 'x'])],
      ['a password without a user name (MQTT-3.1.2-22)', connectWith(0x40 | 0x02, 'dc-01')],
      ['a ClientId of ill-formed UTF-8 (MQTT-1.5.3-1)', connectWith(LOGIN, Buffer.from([0x64, 0x63, 0xc0, 0x80]))],
      ['a ClientId with U+0000 (MQTT-1.5.3-2)', connectWith(LOGIN, 'dc-01\u0000')],
    ];
    for (const [what, bytes] of cases) {
      const session = await openRawSession(gateway.mqttUrl);
      session.send(bytes);
      expect(await closedWithin(session, 5_000), `${what}: closed`).toBe(true);
      expect(session.packets, `${what}: no CONNACK`).toEqual([]);
    }
    expect(await closedBy()).toBe(before + cases.length);
    // the same CONNECT with a Will of QoS 1 on its own status topic is let in
    const good = await openRawSession(gateway.mqttUrl);
    good.send(connectWith(LOGIN | 0x04 | 0x08, 'dc-01', [STATUS, 'offline']));
    await eventually('CONNACK 0', () => (good.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0) ? true : undefined), 5_000);
    good.destroy();
  });

  it('closes a connection that sends a SUBSCRIBE, UNSUBSCRIBE, PINGREQ or PUBLISH the protocol forbids and aedes would answer', async () => {
    const closedBy = async () =>
      metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason: 'protocol_error' });
    const before = await closedBy();
    const cases: Array<[string, Buffer]> = [
      ['SUBSCRIBE with packet identifier 0 (MQTT-2.3.1-1)', packetOf(0x82, u16(0), text(`${CMD}#`), Buffer.from([1]))],
      [
        'SUBSCRIBE to a filter of ill-formed UTF-8',
        packetOf(0x82, u16(5), text(Buffer.concat([Buffer.from(CMD), Buffer.from([0xff])])), Buffer.from([1])),
      ],
      ['UNSUBSCRIBE with packet identifier 0', packetOf(0xa2, u16(0), text(`${CMD}#`))],
      ['UNSUBSCRIBE without a filter (MQTT-3.10.3-2)', packetOf(0xa2, u16(11))],
      ['PINGREQ with a remaining length', packetOf(0xc0, Buffer.from([0]))],
      ['QoS 0 PUBLISH with DUP set (MQTT-3.3.1-2)', packetOf(0x38, text(DC01), Buffer.from('{"metrics":{"hopper_temp":1}}'))],
      [
        'PUBLISH to a topic of ill-formed UTF-8',
        packetOf(0x32, text(Buffer.concat([Buffer.from(DC01), Buffer.from([0xed, 0xa0, 0x80])])), u16(9), Buffer.from('{}')),
      ],
    ];
    for (const [what, bytes] of cases) {
      const session = await rawDevice(gateway, 'dc-01', 'dc-01', 'secret-dc-01');
      session.send(bytes);
      expect(await closedWithin(session, 5_000), `${what}: closed`).toBe(true);
      expect(
        session.packets.map((p) => p.cmd),
        `${what}: not answered`,
      ).toEqual(['connack']);
    }
    expect(await closedBy()).toBe(before + cases.length);
    await gateway.settle();
    expect(await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-01'")).toEqual([]);
  });

  it('lets a device send a backlog right after its CONNECT, without waiting for the CONNACK (MQTT §3.1.4)', async () => {
    const session = await openRawSession(gateway.mqttUrl);
    const readings = Array.from({ length: 60 }, (_, i) =>
      rawPublish(DC01, Buffer.from(JSON.stringify({ seq: 9_000 + i, metrics: { spark_count: i } })), 1, i + 1),
    );
    session.send(Buffer.concat([connectPacket('dc-01', 'dc-01', 'secret-dc-01'), ...readings]));
    await eventually('60 PUBACKs', () => (session.packets.filter((p) => p.cmd === 'puback').length === 60 ? true : undefined), 10_000);
    expect(session.packets[0]).toMatchObject({ cmd: 'connack', returnCode: 0 });
    session.destroy();
  });

  it('counts what aedes closes itself: an MQTT 5 CONNECT (CONNACK 1) and a PUBLISH with a wildcard in its topic', async () => {
    const closedBy = async (reason: string) => metricValue(await metricsOf(gateway), 'gateway_mqtt_connections_closed_total', { reason });
    const [versionBefore, errorBefore] = [await closedBy('protocol_version'), await closedBy('protocol_error')];
    const five = await openRawSession(gateway.mqttUrl);
    five.send(connectPacket('dc-01', 'dc-01', 'secret-dc-01', 5));
    expect(await closedWithin(five, 5_000)).toBe(true);
    expect(five.packets).toEqual([expect.objectContaining({ cmd: 'connack', returnCode: 1 })]);
    const wild = await rawDevice(gateway, 'dc-01', 'dc-01', 'secret-dc-01');
    wild.send(rawPublish(`${DC01}/+`, Buffer.from('{"metrics":{"hopper_temp":1}}'), 1, 4));
    expect(await closedWithin(wild, 5_000)).toBe(true);
    expect([await closedBy('protocol_version'), await closedBy('protocol_error')]).toEqual([versionBefore + 1, errorBefore + 1]);
  });
});

describe('a QoS 2 PUBLISH sent again before its PUBREL (MQTT-4.3.3-2)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => gateway?.close());

  it('is the same message: PUBREC again, taken and stored once (a reading without seq is not counted twice)', async () => {
    const session = await rawDevice(gateway, 'dc-01', 'dc-01', 'secret-dc-01');
    const payload = '{"metrics":{"spark_count":1}}';
    session.send(qos2Publish(DC01, payload, 7, false));
    await eventually('the first PUBREC', () => (session.packets.filter((p) => p.cmd === 'pubrec').length === 1 ? true : undefined));
    session.send(qos2Publish(DC01, payload, 7, true));
    await eventually('the second PUBREC', () => (session.packets.filter((p) => p.cmd === 'pubrec').length === 2 ? true : undefined));
    session.send(pubrel(7));
    await eventually('the PUBCOMP', () => (session.packets.some((p) => p.cmd === 'pubcomp') ? true : undefined));
    // released, the packet id may carry a new message
    session.send(qos2Publish(DC01, '{"metrics":{"spark_count":2}}', 7, false));
    await eventually('the third PUBREC', () => (session.packets.filter((p) => p.cmd === 'pubrec').length === 3 ? true : undefined));
    await gateway.settle();
    expect(metricValue(await metricsOf(gateway), 'gateway_readings_accepted_total', { profile: 'dust-collector' })).toBe(2);
    session.destroy();
  });

  it('is handed on in its turn: a QoS 1 PUBLISH read in the same packet after it does not overtake it (the older reading judged late)', async () => {
    const session = await rawDevice(gateway, 'dc-02', 'dc-02', 'secret-dc-02');
    const topic = telemetryTopicOf('site-a', 'dc-02');
    const now = Date.now();
    const lateBefore = metricValue(await metricsOf(gateway), 'gateway_readings_late_total');
    session.send(
      Buffer.concat([
        qos2Publish(topic, JSON.stringify({ ts: now - 2_000, metrics: { hopper_temp: 30 } }), 9, false),
        rawPublish(topic, Buffer.from(JSON.stringify({ ts: now - 1_000, metrics: { hopper_temp: 31 } })), 1, 10),
      ]),
    );
    await eventually('both answered', () =>
      session.packets.some((p) => p.cmd === 'pubrec') && session.packets.some((p) => p.cmd === 'puback') ? true : undefined,
    );
    await gateway.settle();
    expect(metricValue(await metricsOf(gateway), 'gateway_readings_late_total')).toBe(lateBefore);
    session.destroy();
  });
});

describe('a device is only itself (contract §1)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      overrides: {
        mqtt: {
          tcp: { host: '127.0.0.1', port: 0 },
          connectThrottle: { window: '1m', maxFailuresPerAddress: 6, maxFailuresPerDevice: 3 },
          labMode: { enabled: true, allow: ['#'] },
        },
      },
    });
  });
  afterAll(async () => gateway?.close());

  it("refuses another device's ClientId with CONNACK 2: the owner stays connected and its Last Will does not fire", async () => {
    const owner = await connectDevice(gateway.mqttUrl, {
      username: 'dc-01',
      password: 'secret-dc-01',
      clientId: 'dc-01',
      clean: false,
      will: { topic: 'sites/site-a/devices/dc-01/status', payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    let ownerClosed = false;
    owner.on('close', () => {
      ownerClosed = true;
    });
    await owner.subscribeAsync('sites/site-a/devices/dc-01/cmd/#', { qos: 1 });
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-01' })).toBe(2);
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-01:x' })).toBe(2);
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02:second' })).toBe(0);
    // Lab clients may not wear a device's ClientId either.
    expect(await connackCode(gateway.mqttUrl, { clientId: 'dc-01' })).toBe(2);
    await publishJson(owner, DC01, { metrics: { hopper_temp: 30 } });
    expect(ownerClosed).toBe(false);
    const devices = (await api(gateway, '/api/devices')).body.devices as Array<{ id: string; online: boolean }>;
    expect(devices.find((d) => d.id === 'dc-01')?.online).toBe(true);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connect_refused_total', { reason: 'client_id_taken' })).toBe(3);
    await owner.endAsync();
  });

  it('keeps lab clients out of sites/: no publish there, and a # subscription does not see device telemetry', async () => {
    const lab = await connectDevice(gateway.mqttUrl, { clientId: 'lab-watcher' });
    const seen: string[] = [];
    lab.on('message', (topic) => seen.push(topic));
    expect(await grantedQos(lab, '#')).toBe(1);
    expect(await grantedQos(lab, 'sites/site-a/devices/dc-02/telemetry')).toBe(128);
    await publishJson(lab, telemetryTopicOf('site-a', 'dc-02'), { metrics: { hopper_temp: 99 } });
    await publishJson(lab, 'lab/hello', { hi: 1 });
    const device = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-02'), { metrics: { hopper_temp: 31 } });
    await eventually('the lab topic echoed', () => (seen.includes('lab/hello') ? true : undefined));
    await gateway.settle();
    expect(seen.filter((topic) => topic.startsWith('sites/'))).toEqual([]);
    const forbidden = (await api(gateway, '/api/quarantine?reason=forbidden')).body.entries;
    expect(forbidden.some((e: { topic: string }) => e.topic === telemetryTopicOf('site-a', 'dc-02'))).toBe(true);
    const rows = await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-02'");
    expect(rows.map((r) => r.hopper_temp)).toEqual([31]);
    await Promise.all([lab.endAsync(), device.endAsync()]);
  });

  it('throttles failed logins per device id and per source address, counted', async () => {
    for (let i = 0; i < 3; i += 1)
      expect(await connackCode(gateway.mqttUrl, { username: 'dc-09', password: 'guess', clientId: 'dc-09' })).toBe(4);
    // The right secret is not even checked now: CONNACK 3 until the window ends.
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-09', password: 'secret-dc-09', clientId: 'dc-09' })).toBe(3);
    // Another device from the same address is not held up by dc-09's failures…
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' })).toBe(0);
    // …until the address itself has failed too often (3 + 3 unknown ids = 6).
    for (let i = 0; i < 3; i += 1)
      expect(await connackCode(gateway.mqttUrl, { username: `ghost-${i}`, password: 'x', clientId: `ghost-${i}` })).toBe(4);
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' })).toBe(3);
    const text = await metricsOf(gateway);
    expect(metricValue(text, 'gateway_mqtt_connect_refused_total', { reason: 'throttled_device' })).toBe(1);
    expect(metricValue(text, 'gateway_mqtt_connect_refused_total', { reason: 'throttled_address' })).toBe(1);
  });
});

describe('one device cannot take every connection slot', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ overrides: { mqtt: { tcp: { host: '127.0.0.1', port: 0 }, maxConnectionsPerDevice: 2 } } });
  });
  afterAll(async () => gateway?.close());

  it('refuses its connections past mqtt.maxConnectionsPerDevice with CONNACK 3, counted; a reconnect under a connected ClientId takes it over', async () => {
    const as = (clientId: string) => ({ username: 'dc-01', password: 'secret-dc-01', clientId, reconnectPeriod: 0 });
    const first = await connectDevice(gateway.mqttUrl, as('dc-01'));
    const second = await connectDevice(gateway.mqttUrl, as('dc-01:a'));
    expect(await connackCode(gateway.mqttUrl, as('dc-01:b'))).toBe(3);
    // another device is not held up; the same ClientId again (a reconnect over a half-open socket) gets in
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' })).toBe(0);
    expect(await connackCode(gateway.mqttUrl, as('dc-01:a'))).toBe(0);
    expect(metricValue(await metricsOf(gateway), 'gateway_mqtt_connect_refused_total', { reason: 'device_connections' })).toBe(1);
    await Promise.all([first.endAsync(true), second.endAsync(true)]);
  });
});

describe('a reconnect that takes over a connection still open (MQTT-3.1.4-2)', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => gateway?.close());

  it("does not publish the old connection's Last Will: the device, connected again, is not recorded offline", async () => {
    const status = 'sites/site-a/devices/dc-01/status';
    const will = { topic: status, payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    const as = { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01', reconnectPeriod: 0 };
    const first = await connectDevice(gateway.mqttUrl, { ...as, will });
    await first.publishAsync(status, 'online', { qos: 1, retain: true });
    const second = await connectDevice(gateway.mqttUrl, { ...as, will });
    await eventually('the first connection closed', () => (first.connected ? undefined : true));
    await gateway.settle();
    const dc01 = (await api(gateway, '/api/devices')).body.devices.find((d: { id: string }) => d.id === 'dc-01');
    expect([dc01.online, dc01.reportedStatus]).toEqual([true, 'online']);
    // its own Will still goes out when it is gone
    second.stream.destroy();
    await eventually('the Will of a connection lost', async () => {
      const now = (await api(gateway, '/api/devices')).body.devices.find((d: { id: string }) => d.id === 'dc-01');
      return now.reportedStatus === 'offline' ? true : undefined;
    });
    first.end(true);
  });
});

describe('a decommissioned device still trying under its old name', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      overrides: {
        mqtt: { tcp: { host: '127.0.0.1', port: 0 }, connectThrottle: { window: '1m', maxFailuresPerAddress: 6, maxFailuresPerDevice: 3 } },
      },
    });
  });
  afterAll(async () => gateway?.close());

  it('is held back under its name alone: the devices behind the same address still get in', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 10; i += 1)
      codes.push(await connackCode(gateway.mqttUrl, { username: 'dc-gone', password: 'x', clientId: 'dc-gone' }));
    expect(codes).toEqual([4, 4, 4, 3, 3, 3, 3, 3, 3, 3]);
    expect(await connackCode(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' })).toBe(0);
  });
});

/** The poison payloads of issue 10, each of which used to take the whole process down. */
const POISON: Array<{ payload: string; reason: string }> = [
  { payload: '{"metrics":{"constructor":1}}', reason: 'unknown_metric' },
  { payload: '{"metrics":{"toString":1,"hopper_temp":2}}', reason: 'unknown_metric' },
  { payload: '{"readings":[{"metrics":{"hasOwnProperty":1}}]}', reason: 'unknown_metric' },
  { payload: '{"metrics":{"hopper_temp":1},"units":{"hopper_temp":"valueOf"}}', reason: 'unit' },
  { payload: '{"metrics":{"hopper_temp":1},"units":{"__proto__":"°C"}}', reason: 'unknown_metric' },
  { payload: '{"metrics":{"hopper_temp":1},"units":{"hopper_temp":"constructor"}}', reason: 'unit' },
  { payload: '{"metrics":{"__proto__":1,"hopper_temp":2}}', reason: 'unknown_metric' },
  { payload: '{"ts":8700000000000000,"metrics":{"hopper_temp":1}}', reason: 'future_timestamp' },
  { payload: '{"ts":"0000-01-01T00:00:00Z","metrics":{"hopper_temp":1}}', reason: 'past_timestamp' },
];

describe.each(LANE_THREADS)('poison payloads are rejections, never exits — lane.thread: %s', (thread) => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ thread });
  });
  afterAll(async () => gateway?.close());

  it('answers each poison QoS 1 publish, again after a reconnect with a persistent session, and stores the next good reading', async () => {
    const options = { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01', clean: false };
    for (let round = 0; round < 2; round += 1) {
      const device = await connectDevice(gateway.mqttUrl, options);
      for (const poison of POISON) await device.publishAsync(DC01, poison.payload, { qos: 1 });
      await device.endAsync();
    }
    const device = await connectDevice(gateway.mqttUrl, options);
    await publishJson(device, DC01, { metrics: { hopper_temp: 42 } });
    await device.endAsync();
    expect((await api(gateway, '/healthz')).status).toBe(200);
    await gateway.settle();

    const entries = (await api(gateway, '/api/quarantine?limit=1000')).body.entries as Array<{ reason: string; payload: string }>;
    for (const poison of POISON) {
      const answered = entries.filter((e) => e.payload === poison.payload);
      expect(
        answered.map((e) => e.reason),
        poison.payload,
      ).toEqual([poison.reason, poison.reason]);
    }
    const rows = await eventually('the good reading in influxd', async () => {
      const found = await queryInflux(gateway.database, "SELECT hopper_temp FROM telemetry WHERE device = 'dc-01'");
      return found.length > 0 ? found : undefined;
    });
    expect(rows.map((r) => r.hopper_temp)).toEqual([42]);
  });
});

describe('a real-socket fuzz run: generated payloads from several devices while a good device publishes at QoS 1', () => {
  const GOOD: TestDevice = { id: 'pm-01', site: 'site-a', profile: 'power', secret: 'secret-pm-01', attributes: { p_prod_kw: 500 } };
  const BAD = DUST_DEVICES;
  const PER_DEVICE = 1_000;
  const GOOD_READINGS = 300;
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ devices: [...BAD, GOOD], overrides: { quarantine: { size: 50_000, perDevice: 50_000 } } });
  });
  afterAll(async () => gateway?.close());

  /** What a fresh lane judging the same payloads in the same order says: the count the gateway must match. */
  async function expectedVerdicts(device: TestDevice, payloads: readonly Buffer[]) {
    // Judging alone: no store, so nothing this judge saw outlives it.
    const config = validateConfig({ influx: { mode: 'off' }, store: { enabled: false }, devices: gateway.config.devices }, '(test)');
    const registry = createDeviceRegistry(config.devices);
    const quiet = createLogger('silent');
    const outlet = { alarmChanges: () => undefined, readingStored: () => undefined };
    const { core } = await buildLaneCore(
      { config: laneConfigOf(config), influxUrl: null },
      registry,
      outlet,
      createGatewayMetrics({ processMetrics: false }),
      quiet,
    );
    const registered = registry.get(device.id) as RegisteredDevice;
    let accepted = 0;
    let rejected = 0;
    for (const payload of payloads) {
      const verdict = core.judge(registered, payload, Date.now());
      accepted += verdict.accepted;
      rejected += verdict.rejections.length;
    }
    return { accepted, rejected };
  }

  it(`${BAD.length * PER_DEVICE} hostile publishes: no crash, each answered with a PUBACK and a reason, every good reading stored`, async () => {
    const payloads = BAD.map((_, index) => fc.sample(hostilePayload, { numRuns: PER_DEVICE, seed: 4_242 + index }));
    const expected = await Promise.all(BAD.map((device, index) => expectedVerdicts(device, payloads[index] as Buffer[])));

    const clients: MqttClient[] = await Promise.all(
      BAD.map((d) => connectDevice(gateway.mqttUrl, { username: d.id, password: d.secret, clientId: d.id })),
    );
    const good = await connectDevice(gateway.mqttUrl, { username: GOOD.id, password: GOOD.secret, clientId: GOOD.id });
    const start = Date.now() - GOOD_READINGS * 1_000;
    const goodRun = (async () => {
      for (let seq = 0; seq < GOOD_READINGS; seq += 1)
        await publishJson(good, telemetryTopicOf(GOOD.site, GOOD.id), {
          seq,
          ts: start + seq * 1_000,
          metrics: { active_power: 100 + seq },
        });
    })();
    await Promise.all(
      BAD.map(async (device, index) => {
        const client = clients[index] as MqttClient;
        for (const payload of payloads[index] as Buffer[])
          await client.publishAsync(telemetryTopicOf(device.site, device.id), payload, { qos: 1 });
      }),
    );
    await goodRun;
    expect((await api(gateway, '/healthz')).status).toBe(200);
    await gateway.settle();

    const text = await metricsOf(gateway);
    // Per device in GET /api/devices (the metric counts per reason only).
    const devices: Array<{ id: string; rejections: Record<string, number> }> = (await api(gateway, '/api/devices')).body.devices;
    BAD.forEach((device, index) => {
      const counts = Object.values(devices.find((d) => d.id === device.id)?.rejections ?? {});
      const rejected = counts.reduce((sum, n) => sum + n, 0);
      expect(rejected, `${device.id}: rejections counted`).toBe(expected[index]?.rejected);
    });
    expect(
      Object.keys(REJECTION_REASONS).reduce((sum, reason) => sum + metricValue(text, 'gateway_ingest_rejections_total', { reason }), 0),
    ).toBe(expected.reduce((sum, e) => sum + e.rejected, 0));
    expect(metricValue(text, 'gateway_ingest_rejections_total', { reason: 'internal' })).toBe(0);
    expect(metricValue(text, 'gateway_readings_accepted_total', { profile: 'dust-collector' })).toBe(
      expected.reduce((sum, e) => sum + e.accepted, 0),
    );
    const entries = (await api(gateway, '/api/quarantine?limit=10000')).body.entries as Array<{ reason: string; device: string | null }>;
    expect(entries.length).toBe(expected.reduce((sum, e) => sum + e.rejected, 0));
    expect(entries.every((e) => Object.hasOwn(REJECTION_REASONS, e.reason) && e.reason !== 'internal')).toBe(true);

    const stored = await eventually(
      'every good reading in influxd',
      async () => {
        const rows = await queryInflux(gateway.database, `SELECT count(active_power) FROM telemetry WHERE device = '${GOOD.id}'`);
        return rows[0]?.count === GOOD_READINGS ? rows[0].count : undefined;
      },
      20_000,
    );
    expect(stored).toBe(GOOD_READINGS);
    await Promise.all([...clients, good].map((c) => c.endAsync()));
  }, 120_000);
});
