import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

/**
 * A minimal MQTT 3.1.1 client on a raw socket with pre-encoded packets: the load generator must not be
 * the bottleneck, and a full client (MQTT.js) costs more per message than the broker under test.
 */
export interface WireConnection {
  readonly socket: Socket;
  /** Called with the message id of every PUBACK. */
  onPuback: ((messageId: number) => void) | null;
  /** Resolves when everything written so far is flushed to the kernel. */
  write(data: Buffer): Promise<void>;
  close(): void;
}

export interface WireConnectOptions {
  host: string;
  port: number;
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
  keepalive?: number;
  timeoutMs?: number;
}

export function encodePublish(topic: string, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  return mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload,
    qos,
    retain: false,
    dup: false,
    ...(qos > 0 ? { messageId } : {}),
  });
}

/** Opens a TCP connection, sends CONNECT and resolves on a successful CONNACK (rejects on refusal, with its `returnCode`). */
export function openConnection(options: WireConnectOptions): Promise<WireConnection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000);
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const connection: WireConnection = {
      socket,
      onPuback: null,
      write(data) {
        return new Promise((done, failed) => {
          socket.write(data, (error) => (error ? failed(error) : done()));
        });
      },
      close() {
        socket.destroy();
      },
    };
    parser.on('packet', (packet) => {
      if (packet.cmd === 'puback') connection.onPuback?.(packet.messageId as number);
      else if (packet.cmd === 'connack' && !settled) {
        if (packet.returnCode !== 0)
          return fail(Object.assign(new Error(`CONNACK refused with code ${packet.returnCode}`), { returnCode: packet.returnCode }));
        settled = true;
        clearTimeout(timer);
        resolve(connection);
      }
    });
    parser.on('error', (error) => fail(error));
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', (error) => fail(error));
    socket.on('close', () => fail(new Error('connection closed before CONNACK')));
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: options.clientId,
        keepalive: options.keepalive ?? 600,
        ...(options.username !== undefined ? { username: options.username } : {}),
        ...(options.password !== undefined ? { password: Buffer.from(options.password) } : {}),
      }),
    );
  });
}
