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
