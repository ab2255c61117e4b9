import { connect as openSocket } from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type InProcessBroker, startInProcessBroker } from '../../../test/helpers/in-process-broker.js';
import { connectPacket, openRawSession, type RawSession, rawPublish, remainingLength } from '../../../test/helpers/raw-mqtt.js';
import { guardedHandle } from './connection-guard.js';

const TELEMETRY_01 = 'sites/site-a/devices/dc-01/telemetry';
const CONNECT = connectPacket('dc-01', 'dc-01', 'secret-dc-01');

let running: InProcessBroker | undefined;
const sessions: RawSession[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const session of sessions.splice(0)) session.destroy();
  await running?.close();
  running = undefined;
});
async function start(maxPreAuthBytes: number, maxPacketBytes: number): Promise<InProcessBroker> {
  running = await startInProcessBroker({ limits: { maxPreAuthBytes, maxPacketBytes } });
  return running;
}
async function open(gateway: InProcessBroker): Promise<RawSession> {
  const session = await openRawSession(gateway.url);
  sessions.push(session);
  return session;
}
const closedWithin = (session: RawSession, ms: number): Promise<boolean> =>
  Promise.race([session.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}
/** Polls on a real interval (setTimeout may be faked) until `condition` holds or `ms` pass. */
const polled = (condition: () => boolean, ms = 2_000): Promise<void> =>
  new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (!condition() && Date.now() - started < ms) return;
      clearInterval(timer);
      resolve();
    }, 2);
  });
const closedFor = (gateway: InProcessBroker, reason: string) => gateway.count(gateway.metrics.mqttConnectionsClosed, { reason });
/** A QoS 1 PUBLISH whose remaining length is exactly `length` bytes. */
const publishOfLength = (length: number, messageId: number): Buffer => {
  const payload = Buffer.alloc(length - 2 - TELEMETRY_01.length - 2, 0x20);
  const packet = rawPublish(TELEMETRY_01, payload, 1, messageId);
  return packet;
};

describe('the connection guard before login', () => {
  it('accepts a CONNECT of exactly maxPreAuthBytes, and closes a connection sending one byte more before its CONNACK', async () => {
    const gateway = await start(CONNECT.length, 64 * 1024);
    const exact = await open(gateway);
    exact.send(CONNECT);
    await until(() => exact.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0));

    const over = await open(gateway);
    over.send(Buffer.concat([CONNECT, Buffer.from([0xc0])]));
    expect(await closedWithin(over, 2_000)).toBe(true);
    expect(over.packets).toEqual([]);
    expect(await closedFor(gateway, 'pre_auth_bytes')).toBe(1);
    const closed = gateway.logs.filter((line) => line.msg === 'connection closed by the gateway');
    expect(closed).toEqual([
      expect.objectContaining({ level: 30, reason: 'pre_auth_bytes', bytes: CONNECT.length + 1, limit: CONNECT.length }),
    ]);
  });

  it('counts what arrives in several chunks before the CONNACK, and closes the connection once', async () => {
    const gateway = await start(1_024, 64 * 1024);
    const session = await open(gateway);
    const publishes = Array.from({ length: 6 }, (_, i) => rawPublish(TELEMETRY_01, Buffer.alloc(300, 0x20), 1, i + 1));
    session.send(Buffer.concat([CONNECT, ...publishes]));
    expect(await closedWithin(session, 2_000)).toBe(true);
    expect(session.packets.some((p) => p.cmd === 'puback')).toBe(false);
    expect(gateway.published).toEqual([]);
    expect(await closedFor(gateway, 'pre_auth_bytes')).toBe(1);
  });

  it('closes a connection whose first packet announces more than maxPreAuthBytes, before buffering it', async () => {
    const gateway = await start(1_024, 64 * 1024);
    const session = await open(gateway);
    session.send(Buffer.concat([Buffer.from([0x10]), remainingLength(2_000)]));
    expect(await closedWithin(session, 2_000)).toBe(true);
    expect(await closedFor(gateway, 'pre_auth_bytes')).toBe(1);
    expect(await closedFor(gateway, 'packet_too_large')).toBe(0);
    expect(gateway.logs.filter((line) => line.msg === 'connection closed by the gateway')).toEqual([
      expect.objectContaining({ reason: 'pre_auth_bytes', announced: 2_000, limit: 1_024 }),
    ]);
  });

  it('answers an unsupported protocol level with CONNACK 1 and closes (MQTT-3.1.2-2)', async () => {
    const gateway = await start(64 * 1024, 64 * 1024);
    for (const level of [2, 6]) {
      const session = await open(gateway);
      const connect = Buffer.from(CONNECT);
      connect[8] = level;
      session.send(connect);
      expect(await closedWithin(session, 2_000), `level ${level}`).toBe(true);
      expect(session.packets).toEqual([expect.objectContaining({ cmd: 'connack', returnCode: 1 })]);
    }
    expect(await closedFor(gateway, 'protocol_version')).toBe(2);
  });

  it('cuts off a peer that does not close after its CONNACK 1 within a second', async () => {
    const gateway = await start(64 * 1024, 64 * 1024);
    const { port } = new URL(gateway.url);
    const socket = openSocket({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: Array<{ cmd: string; returnCode?: number }> = [];
    parser.on('packet', (packet) => packets.push(packet));
    socket.on('data', (chunk) => parser.parse(chunk));
    let ended = false;
    let closed = false;
    socket.on('end', () => {
      ended = true;
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const connect = Buffer.from(CONNECT);
    connect[8] = 6;
    socket.write(connect);
    await polled(() => ended);
    expect(packets).toEqual([expect.objectContaining({ cmd: 'connack', returnCode: 1 })]);
    // Still half open: what the peer writes is taken in silence. Once cut off, a write is answered with a reset.
    vi.advanceTimersByTime(999);
    await polled(() => {
      if (!socket.destroyed) socket.write(Buffer.from([0xc0, 0x00]));
      return closed;
    }, 50);
    expect(closed).toBe(false);
    vi.advanceTimersByTime(1);
    // The first write after the cut is answered with a reset, which the next write reports.
    await polled(() => {
      if (!socket.destroyed) socket.write(Buffer.from([0xc0, 0x00]));
      return closed;
    });
    expect(closed).toBe(true);
  });

  it('lets other malformed CONNECTs close the connection without a CONNACK', async () => {
    const gateway = await start(64 * 1024, 64 * 1024);
    const session = await open(gateway);
    const connect = Buffer.from(CONNECT);
    connect.write('MQTX', 4);
    session.send(connect);
    expect(await closedWithin(session, 2_000)).toBe(true);
    expect(session.packets).toEqual([]);
    expect(await closedFor(gateway, 'protocol_version')).toBe(0);
    expect(gateway.logs.filter((line) => line.msg === 'connection error')).toEqual([
      expect.objectContaining({ level: 20, err: expect.objectContaining({ message: 'Invalid protocolId' }) }),
    ]);
  });
});

describe('the connection guard after login', () => {
  it('lets a logged-in device send more than maxPreAuthBytes, in packets up to maxPacketBytes', async () => {
    const gateway = await start(CONNECT.length, 4_096);
    const session = await open(gateway);
    session.send(CONNECT);
    await until(() => session.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0));
    session.send(Buffer.concat([publishOfLength(4_096, 1), publishOfLength(4_096, 2)]));
    await until(() => session.packets.filter((p) => p.cmd === 'puback').length === 2);
    expect(gateway.published).toHaveLength(2);
    expect(session.isClosed).toBe(false);
  });

  it('reads past a PUBLISH over maxPacketBytes without buffering it: the broker gets its topic, id and first bytes, marked tooLarge', async () => {
    const gateway = await start(CONNECT.length, 4_096);
    const session = await open(gateway);
    session.send(CONNECT);
    await until(() => session.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0));
    const big = rawPublish(TELEMETRY_01, Buffer.alloc(100_000, 0x41), 1, 7);
    // in reads that cut it anywhere, the next PUBLISH right behind its last byte
    session.send(big.subarray(0, 100));
    session.send(big.subarray(100, 60_000));
    session.send(Buffer.concat([big.subarray(60_000), publishOfLength(100, 8)]));
    await until(() => session.packets.filter((p) => p.cmd === 'puback').length === 2);
    expect(session.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual([7, 8]);
    expect(session.isClosed).toBe(false);
    const [skipped, next] = gateway.published;
    expect(skipped).toMatchObject({ topic: TELEMETRY_01, tooLarge: { bytes: big.length - 4, limit: 4_096 } });
    expect(skipped?.payload).toEqual(Buffer.alloc(2_048, 0x41));
    expect(next).toMatchObject({ topic: TELEMETRY_01 });
    expect(next?.tooLarge).toBeUndefined();
    expect(await closedFor(gateway, 'packet_too_large')).toBe(0);

    // its first 50 bytes one a read (the topic's length split), then the rest
    const again = rawPublish(TELEMETRY_01, Buffer.alloc(5_000, 0x42), 1, 9);
    for (let at = 0; at < 50; at += 1) session.send(again.subarray(at, at + 1));
    session.send(again.subarray(50));
    await until(() => session.packets.filter((p) => p.cmd === 'puback').length === 3);
    expect(session.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual([7, 8, 9]);
    expect(gateway.published[2]).toMatchObject({ topic: TELEMETRY_01, tooLarge: { bytes: again.length - 3 } });
    expect(gateway.published[2]?.payload).toEqual(Buffer.alloc(2_048, 0x42));
  });

  it('closes a connection announcing any other packet over maxPacketBytes, counted once', async () => {
    const gateway = await start(CONNECT.length, 4_096);
    const session = await open(gateway);
    session.send(CONNECT);
    await until(() => session.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0));
    // a SUBSCRIBE (0x82) of 4,097 bytes
    session.send(Buffer.concat([Buffer.from([0x82]), remainingLength(4_097)]));
    session.send(Buffer.alloc(1_000, 0x20));
    expect(await closedWithin(session, 2_000)).toBe(true);
    expect(gateway.published).toEqual([]);
    expect(await closedFor(gateway, 'packet_too_large')).toBe(1);
    expect(await closedFor(gateway, 'pre_auth_bytes')).toBe(0);
    expect(gateway.logs.filter((line) => line.msg === 'connection closed by the gateway')).toEqual([
      expect.objectContaining({ clientId: 'dc-01', reason: 'packet_too_large', announced: 4_097, limit: 4_096 }),
    ]);
  });

  it('passes a protocol error of a logged-in connection to the broker, which closes it', async () => {
    const gateway = await start(64 * 1024, 64 * 1024);
    const session = await open(gateway);
    session.send(CONNECT);
    await until(() => session.packets.some((p) => p.cmd === 'connack' && p.returnCode === 0));
    session.send(CONNECT);
    expect(await closedWithin(session, 2_000)).toBe(true);
    expect(await closedFor(gateway, 'protocol_version')).toBe(0);
  });

  it('hands every packet over whole and in order, however its bytes are cut into TCP reads', async () => {
    const gateway = await start(64 * 1024, 64 * 1024);
    // Payloads up to 300 bytes: remaining lengths of one and two bytes, and a length byte alone in a read.
    // some payloads over maxPacketBytes (the broker gets those read past, marked tooLarge, in their place)
    const publishes = fc.array(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .tuple(fc.integer({ min: 66_000, max: 70_000 }), fc.uint8Array({ minLength: 1, maxLength: 16 }))
          .map(([length, motif]) => Uint8Array.from({ length }, (_, i) => motif[i % motif.length] as number)),
      ),
      {
        minLength: 1,
        maxLength: 6,
      },
    );
    await fc.assert(
      fc.asyncProperty(publishes, fc.array(fc.nat(), { maxLength: 40 }), async (payloads, cuts) => {
        gateway.published.length = 0;
        const session = await open(gateway);
        // with a payload over maxPacketBytes, after the CONNACK: before it, 64 KiB is all a connection may send
        const large = payloads.some((payload) => payload.length > 300);
        if (large) {
          session.send(CONNECT);
          await polled(() => session.packets.some((p) => p.cmd === 'connack'));
        }
        const publishes = payloads.map((payload, i) => rawPublish(TELEMETRY_01, Buffer.from(payload), 1, i + 1));
        const bytes = Buffer.concat(large ? publishes : [CONNECT, ...publishes]);
        const at = [...new Set(cuts.map((cut) => cut % bytes.length))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...at, bytes.length]) {
          if (to <= from) continue;
          session.send(bytes.subarray(from, to));
          from = to;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        await polled(() => session.packets.filter((p) => p.cmd === 'puback').length === payloads.length);
        expect(session.packets.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual(payloads.map((_, i) => i + 1));
        const limit = 64 * 1024;
        expect(gateway.published.map((p) => [p.topic, [...p.payload], p.tooLarge?.bytes ?? null])).toEqual(
          payloads.map((payload) => {
            const length = 2 + TELEMETRY_01.length + 2 + payload.length;
            return length > limit ? [TELEMETRY_01, [...payload.subarray(0, 2_048)], length] : [TELEMETRY_01, [...payload], null];
          }),
        );
        session.destroy();
        await session.closed;
      }),
      { numRuns: 25 },
    );
  }, 60_000);

  it('refuses to start on an aedes that no longer exposes its packet parser', () => {
    const deps = { limits: { maxPreAuthBytes: 1_024, maxPacketBytes: 1_024 }, metrics: {} as never, log: {} as never };
    const broker = {
      handle(stream: { client?: unknown }) {
        stream.client = { _parser: undefined };
      },
    } as never;
    expect(() => guardedHandle(broker, deps)({} as never)).toThrow('aedes no longer exposes its packet parser');
  });
});
