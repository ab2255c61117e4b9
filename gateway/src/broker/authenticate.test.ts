import type { Client } from 'aedes';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type InProcessBroker, type InProcessBrokerOptions, startInProcessBroker } from '../../../test/helpers/in-process-broker.js';
import { connackCode, connectDevice } from '../../../test/helpers/mqtt-device.js';
import { rawConnack } from '../../../test/helpers/raw-mqtt.js';
import { CONNACK, clientIdBelongsTo, isReservedForDevices, remoteAddressOf } from './authenticate.js';

const STATUS_01 = 'sites/site-a/devices/dc-01/status';
const dc01 = { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' };

let running: InProcessBroker | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});
async function start(options: InProcessBrokerOptions = {}): Promise<InProcessBroker> {
  running = await startInProcessBroker(options);
  return running;
}
/** The CONNACK code a real MQTT client gets (a gateway that does not answer fails the test in 2 s, not 5). */
const code = (gateway: InProcessBroker, options: Parameters<typeof connackCode>[1]) =>
  connackCode(gateway.url, { connectTimeout: 2_000, ...options });
const refused = (gateway: InProcessBroker, reason: string) => gateway.count(gateway.metrics.mqttConnectRefused, { reason });
const LAB = { enabled: true, allow: ['lab/#'], deny: [] };

describe('device credentials at CONNECT', () => {
  it('accepts a device with its own credentials, as its id or {id}:{suffix}', async () => {
    const gateway = await start();
    expect(await code(gateway, dc01)).toBe(0);
    expect(await code(gateway, { ...dc01, clientId: 'dc-01:backup' })).toBe(0);
    expect(await code(gateway, { ...dc01, clientId: 'dc-01:x' })).toBe(0);
    expect((await gateway.metrics.mqttConnectRefused.get()).values).toEqual([]);
  });

  it('refuses a wrong password and an unknown device with CONNACK 4, counted apart', async () => {
    const gateway = await start();
    expect(await code(gateway, { ...dc01, password: 'secret-dc-02' })).toBe(CONNACK.BAD_USERNAME_OR_PASSWORD);
    expect(await code(gateway, { ...dc01, password: undefined })).toBe(4);
    expect(await code(gateway, { username: 'dc-99', password: 'secret-dc-99', clientId: 'dc-99' })).toBe(4);
    expect(await refused(gateway, 'bad_credentials')).toBe(2);
    expect(await refused(gateway, 'unknown_device')).toBe(1);
    // The operator sees each refusal in the log, without the secret.
    const lines = gateway.logs.filter((line) => line.msg === 'connect refused');
    expect(lines.map(({ clientId, reason, returnCode, level }) => ({ clientId, reason, returnCode, level }))).toEqual([
      { clientId: 'dc-01', reason: 'bad_credentials', returnCode: 4, level: 30 },
      { clientId: 'dc-01', reason: 'bad_credentials', returnCode: 4, level: 30 },
      { clientId: 'dc-99', reason: 'unknown_device', returnCode: 4, level: 30 },
    ]);
    expect(JSON.stringify(gateway.logs)).not.toContain('secret-dc-02');
  });

  it("refuses another device's ClientId, and ids that only look like its own, with CONNACK 2", async () => {
    const gateway = await start();
    for (const clientId of ['dc-02', 'dc-01:', 'dc-01x', 'dc-0', 'xdc-01', 'dc-02:dc-01'])
      expect(await code(gateway, { ...dc01, clientId }), clientId).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(await refused(gateway, 'client_id_taken')).toBe(6);
  });

  it('accepts an empty ClientId with CleanSession=1 (the broker assigns one) and refuses it with CleanSession=0 (MQTT-3.1.3-8)', async () => {
    const gateway = await start();
    expect(await rawConnack(gateway.url, { clientId: '', clean: true, username: 'dc-01', password: 'secret-dc-01' })).toBe(0);
    expect(await rawConnack(gateway.url, { clientId: '', clean: false, username: 'dc-01', password: 'secret-dc-01' })).toBe(2);
    expect(await refused(gateway, 'client_id')).toBe(1);
  });

  it("refuses a Last Will outside the device's own topics with CONNACK 5, and accepts its own", async () => {
    const gateway = await start();
    const will = (topic: string) => ({ topic, payload: Buffer.from('offline'), qos: 1 as const, retain: false });
    expect(await code(gateway, { ...dc01, will: will('sites/site-a/devices/dc-02/status') })).toBe(CONNACK.NOT_AUTHORIZED);
    expect(await code(gateway, { ...dc01, will: will('lab/x') })).toBe(5);
    expect(await refused(gateway, 'will_topic')).toBe(2);
    expect(await code(gateway, { ...dc01, will: will(STATUS_01) })).toBe(0);
  });

  it('refuses anonymous clients with CONNACK 5 when lab mode is off', async () => {
    const gateway = await start();
    expect(await code(gateway, { clientId: 'lab-1' })).toBe(CONNACK.NOT_AUTHORIZED);
    expect(await rawConnack(gateway.url, { clientId: 'lab-2', clean: true, username: '' })).toBe(5);
    expect(await refused(gateway, 'anonymous')).toBe(2);
  });

  it('refuses connections at mqtt.maxConnections with CONNACK 3, before looking at credentials', async () => {
    const gateway = await start({ maxConnections: 2 });
    const first = await connectDevice(gateway.url, { connectTimeout: 2_000, ...dc01 });
    expect(await code(gateway, { ...dc01, clientId: 'dc-01:b' })).toBe(0);
    const second = await connectDevice(gateway.url, { connectTimeout: 2_000, ...dc01, clientId: 'dc-01:c' });
    expect(await code(gateway, { ...dc01, clientId: 'dc-01:d' })).toBe(CONNACK.SERVER_UNAVAILABLE);
    expect(await code(gateway, { ...dc01, clientId: 'dc-01:d', password: 'wrong' })).toBe(3);
    expect(await refused(gateway, 'max_connections')).toBe(2);
    await Promise.all([first.endAsync(), second.endAsync()]);
  });

  it('answers CONNACK 3 when the secret cannot be verified', async () => {
    const gateway = await start({ verifySecret: () => Promise.reject(new Error('hash store unreadable')) });
    expect(await code(gateway, dc01)).toBe(CONNACK.SERVER_UNAVAILABLE);
    expect(await refused(gateway, 'bad_credentials')).toBe(1);
    expect(gateway.logs.find((line) => line.msg === 'secret verification failed')).toMatchObject({
      level: 50,
      device: 'dc-01',
      err: { message: 'hash store unreadable' },
    });
  });
});

describe('the CONNECT throttle as a device sees it', () => {
  it('answers CONNACK 3 to a device past its failure limit, right password or not, until the window ends', async () => {
    const clock = { now: 0 };
    const gateway = await start({ clock, throttle: { windowMs: 60_000, maxFailuresPerAddress: 100, maxFailuresPerDevice: 2 } });
    const wrong = { ...dc01, password: 'wrong' };
    expect(await code(gateway, wrong)).toBe(4);
    expect(await code(gateway, wrong)).toBe(4);
    expect(await code(gateway, dc01)).toBe(CONNACK.SERVER_UNAVAILABLE);
    expect(await code(gateway, { ...dc01, username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' })).toBe(0);
    expect(await refused(gateway, 'throttled_device')).toBe(1);
    expect(await refused(gateway, 'throttled_address')).toBe(0);
    clock.now = 60_000;
    expect(await code(gateway, dc01)).toBe(0);
  });

  it('answers CONNACK 3 to every login from an address past its limit, unknown devices counting', async () => {
    const gateway = await start({ throttle: { windowMs: 60_000, maxFailuresPerAddress: 3, maxFailuresPerDevice: 100 } });
    expect(await code(gateway, { username: 'nobody', password: 'x', clientId: 'nobody' })).toBe(4);
    expect(await code(gateway, { username: 'nobody', password: 'x', clientId: 'nobody' })).toBe(4);
    expect(await code(gateway, { ...dc01, password: 'wrong' })).toBe(4);
    expect(await code(gateway, dc01)).toBe(3);
    expect(await code(gateway, { username: 'nobody', password: 'x', clientId: 'nobody' })).toBe(3);
    expect(await refused(gateway, 'throttled_address')).toBe(2);
    expect(await refused(gateway, 'unknown_device')).toBe(2);
  });
});

describe('admission while the telemetry lane is behind (mqtt.admission)', () => {
  const held = async (gateway: InProcessBroker) => (await gateway.metrics.mqttConnectsHeld.get()).values[0]?.value ?? 0;
  /** Connections of dc-01 (`dc-01:c{i}`), each answered with its CONNACK code and when. */
  const connectMany = (gateway: InProcessBroker, count: number) =>
    Array.from({ length: count }, (_, i) => code(gateway, { ...dc01, clientId: `dc-01:c${i}`, connectTimeout: 5_000 }));

  it('holds the CONNACKs of devices with good credentials while the lane is behind, then lets them all in', async () => {
    const lane = { delay: 5_000 };
    const waits: string[] = [];
    const dones: string[] = [];
    const gateway = await start({
      admission: { laneDelay: () => lane.delay, maxLaneWait: 1_000, maxHold: 10_000 },
      maxConnections: 100,
      connectHolds: { connectWaits: (device) => waits.push(device), connectDone: (device) => dones.push(device) },
    });
    const answered: number[] = [];
    const answers = connectMany(gateway, 8).map((answer) => answer.then((c) => answered.push(c)));
    await vi.waitFor(async () => expect(await held(gateway)).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toEqual([]);
    expect(await held(gateway)).toBe(8);
    // bad credentials are answered at once, held or not: admission comes after them
    expect(await code(gateway, { ...dc01, password: 'wrong' })).toBe(4);
    lane.delay = 0;
    await Promise.all(answers);
    expect(answered).toEqual(Array(8).fill(0));
    // the hold watch heard of every wait and of its end: the device's silence is not counted for it
    expect(waits).toEqual(Array(8).fill('dc-01'));
    expect(dones).toEqual(Array(8).fill('dc-01'));
    expect(await held(gateway)).toBe(0);
    expect(await refused(gateway, 'server_busy')).toBe(0);
  });

  it('answers CONNACK 3 (server_busy, counted and logged) to the devices held maxHold', async () => {
    const gateway = await start({ admission: { laneDelay: () => 5_000, maxLaneWait: 1_000, maxHold: 400 }, maxConnections: 100 });
    const codes = await Promise.all(connectMany(gateway, 12));
    const busy = codes.filter((c) => c === CONNACK.SERVER_UNAVAILABLE).length;
    // the floor (one a second) comes too late for them
    expect(busy).toBe(12);
    expect(await refused(gateway, 'server_busy')).toBe(busy);
    const line = gateway.logs.find((entry) => entry.msg === 'connect refused');
    expect(line).toMatchObject({ reason: 'server_busy', returnCode: 3 });
    expect(await held(gateway)).toBe(0);
  });

  it('checks mqtt.maxConnections again when a held device is let in', async () => {
    // all four pass the check at CONNECT (nobody is connected yet); the lane then has room for one, one, and two
    let room = 0;
    const gateway = await start({
      admission: { laneDelay: () => (room-- > 0 ? 0 : 5_000), maxLaneWait: 1_000, maxHold: 10_000 },
      maxConnections: 2,
    });
    const attempts = Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => connectDevice(gateway.url, { ...dc01, clientId: `dc-01:c${i}`, connectTimeout: 5_000 })),
    );
    await vi.waitFor(async () => expect(await held(gateway)).toBe(4));
    for (const [more, connected] of [
      [1, 1],
      [1, 2],
    ] as const) {
      room = more;
      await vi.waitFor(() => expect(gateway.broker.connectedClients).toBe(connected));
    }
    room = 2;
    const settled = await attempts;
    const open = settled.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []));
    const codes = settled.flatMap((attempt) => (attempt.status === 'rejected' ? [(attempt.reason as { code?: number }).code] : []));
    try {
      expect(open).toHaveLength(2);
      expect(codes).toEqual([CONNACK.SERVER_UNAVAILABLE, CONNACK.SERVER_UNAVAILABLE]);
      expect(await refused(gateway, 'max_connections')).toBe(2);
      expect(gateway.broker.connectedClients).toBe(2);
    } finally {
      await Promise.all(open.map((client) => client.endAsync()));
    }
  });
});

describe('anonymous clients in lab mode', () => {
  it('accepts them under their own ClientId, or one the broker assigns', async () => {
    const gateway = await start({ labMode: LAB });
    expect(await code(gateway, { clientId: 'lab-1' })).toBe(0);
    expect(await rawConnack(gateway.url, { clientId: '', clean: true })).toBe(0);
    expect(await rawConnack(gateway.url, { clientId: 'lab-2', clean: true, username: '' })).toBe(0);
    const warned = gateway.logs.filter((line) => line.msg === 'lab-mode anonymous client connected');
    expect(warned.map((line) => [line.level, line.clientId])).toEqual([
      [40, 'lab-1'],
      [40, expect.stringMatching(/^aedes_/)],
      [40, 'lab-2'],
    ]);
  });

  it("refuses a device's ClientId (it would take over the device's session) with CONNACK 2", async () => {
    const gateway = await start({ labMode: LAB });
    expect(await code(gateway, { clientId: 'dc-01' })).toBe(CONNACK.IDENTIFIER_REJECTED);
    expect(await code(gateway, { clientId: 'dc-02:spare' })).toBe(2);
    expect(await refused(gateway, 'client_id_taken')).toBe(2);
  });

  it('refuses a Last Will under sites/ or outside the allowed filters with CONNACK 5', async () => {
    const gateway = await start({ labMode: { enabled: true, allow: ['lab/#', 'sites/#'], deny: [] } });
    const will = (topic: string) => ({ topic, payload: Buffer.from('gone'), qos: 0 as const, retain: false });
    expect(await code(gateway, { clientId: 'lab-1', will: will(STATUS_01) })).toBe(5);
    expect(await code(gateway, { clientId: 'lab-1', will: will('sites') })).toBe(5);
    expect(await code(gateway, { clientId: 'lab-1', will: will('other/x') })).toBe(5);
    expect(await refused(gateway, 'will_topic')).toBe(3);
    expect(await code(gateway, { clientId: 'lab-1', will: will('lab/1/gone') })).toBe(0);
  });

  it('still checks credentials a client does give', async () => {
    const gateway = await start({ labMode: LAB });
    expect(await code(gateway, { ...dc01, password: 'wrong' })).toBe(4);
    expect(await code(gateway, dc01)).toBe(0);
  });
});

describe('authentication helpers', () => {
  it('reserves sites and everything under sites/ for devices', () => {
    expect(isReservedForDevices('sites')).toBe(true);
    expect(isReservedForDevices('sites/a')).toBe(true);
    expect(isReservedForDevices('sitesx')).toBe(false);
    expect(isReservedForDevices('lab/sites/a')).toBe(false);
  });

  it('gives a ClientId to its device only', () => {
    expect(clientIdBelongsTo('dc-01', 'dc-01')).toBe(true);
    expect(clientIdBelongsTo('dc-01:a', 'dc-01')).toBe(true);
    expect(clientIdBelongsTo('dc-01:', 'dc-01')).toBe(false);
    expect(clientIdBelongsTo('dc-01-a', 'dc-01')).toBe(false);
    expect(clientIdBelongsTo('dc-011', 'dc-01')).toBe(false);
    expect(clientIdBelongsTo('x:dc-01', 'dc-01')).toBe(false);
  });

  it('takes the address of the upgraded HTTP request over the socket, and says unknown without either', () => {
    const client = (shape: object) => shape as unknown as Client;
    expect(remoteAddressOf(client({ req: { socket: { remoteAddress: '10.0.0.7' } }, conn: { remoteAddress: '10.0.0.1' } }))).toBe(
      '10.0.0.7',
    );
    expect(remoteAddressOf(client({ req: { socket: {} }, conn: { remoteAddress: '10.0.0.1' } }))).toBe('10.0.0.1');
    expect(remoteAddressOf(client({ conn: { remoteAddress: '10.0.0.1' } }))).toBe('10.0.0.1');
    expect(remoteAddressOf(client({ req: {}, conn: {} }))).toBe('unknown');
    expect(remoteAddressOf(client({}))).toBe('unknown');
  });
});
