import { connect as openSocket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface RawConnect {
  clientId: string;
  clean: boolean;
  username?: string;
  password?: string;
}

const field = (text: string): Buffer => {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
};

/** MQTT 3.1.1 CONNECT (§3.1) encoded by hand: stock encoders refuse the invalid combinations tested here. */
function encodeConnect(c: RawConnect): Buffer {
  const flags = (c.username !== undefined ? 0x80 : 0) | (c.password !== undefined ? 0x40 : 0) | (c.clean ? 0x02 : 0);
  const variable = Buffer.concat([field('MQTT'), Buffer.from([4, flags, 0, 30])]);
  const payload = Buffer.concat([
    field(c.clientId),
    ...(c.username !== undefined ? [field(c.username)] : []),
    ...(c.password !== undefined ? [field(c.password)] : []),
  ]);
  const remaining = variable.length + payload.length;
  if (remaining > 127) throw new Error('test CONNECT too long for a one-byte remaining length');
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

/**
 * Sends a hand-built CONNECT over a raw socket and resolves with the CONNACK return code, for the
 * protocol cases stock clients refuse to produce (e.g. an empty ClientId with CleanSession=0).
 */
export function rawConnack(url: string, connect: RawConnect): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = openSocket(Number(port), hostname);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no CONNACK within 5 s'));
    }, 5_000);
    parser.on('packet', (packet: { cmd: string; returnCode?: number }) => {
      if (packet.cmd !== 'connack') return;
      clearTimeout(timer);
      socket.destroy();
      resolve(packet.returnCode ?? -1);
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', reject);
    socket.write(encodeConnect(connect));
  });
}

/** A raw MQTT connection: what the gateway sent back, and when it closed the socket. */
export interface RawSession {
  send(bytes: Buffer): boolean;
  packets: Array<{ cmd: string; returnCode?: number; messageId?: number }>;
  /** Resolves when the socket closes (either side). */
  closed: Promise<void>;
  readonly isClosed: boolean;
  destroy(): void;
}

export function openRawSession(url: string): Promise<RawSession> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = openSocket(Number(port), hostname);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const packets: RawSession['packets'] = [];
    let isClosed = false;
    parser.on('packet', (packet: RawSession['packets'][number]) => packets.push(packet));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        isClosed = true;
        done();
      }),
    );
    socket.once('connect', () =>
      resolve({
        send: (bytes) => socket.write(bytes),
        packets,
        closed,
        get isClosed() {
          return isClosed;
        },
        destroy: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}

/** A valid MQTT 3.1.1 CONNECT of a device (encoded by mqtt-packet). */
export const connectPacket = (clientId: string, username: string, password: string, protocolVersion = 4): Buffer =>
  mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: protocolVersion as 4,
    clientId,
    clean: true,
    keepalive: 30,
    username,
    password: Buffer.from(password),
  });

/** A PUBLISH built by hand, so that a test can break what encoders refuse to (U+0000 topics, packet id 0). */
export function rawPublish(topic: string, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  const topicBytes = Buffer.from(topic, 'utf8');
  const head = Buffer.alloc(2);
  head.writeUInt16BE(topicBytes.length);
  const id = Buffer.alloc(qos > 0 ? 2 : 0);
  if (qos > 0) id.writeUInt16BE(messageId);
  const body = Buffer.concat([head, topicBytes, id, payload]);
  return Buffer.concat([Buffer.from([0x30 | (qos << 1)]), remainingLength(body.length), body]);
}

/** A QoS 2 PUBLISH, first sent or sent again (`dup`) before its PUBREL; and the PUBREL that releases it. */
export const qos2Publish = (topic: string, payload: string, messageId: number, dup: boolean): Buffer =>
  mqttPacket.generate({ cmd: 'publish', qos: 2, dup, retain: false, messageId, topic, payload: Buffer.from(payload) });
export const pubrel = (messageId: number): Buffer => mqttPacket.generate({ cmd: 'pubrel', messageId });

/** MQTT's variable-length "remaining length" (§2.2.3). */
export function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return Buffer.from(bytes);
}
