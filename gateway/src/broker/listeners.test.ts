import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { GatewayConfig } from '../config/config-schema.js';
import { validateConfig } from '../config/load-config.js';
import { type MqttListener, startMqttListeners } from './listeners.js';

const mqttConfig = (mqtt: Record<string, unknown>): GatewayConfig['mqtt'] =>
  validateConfig({ influx: { mode: 'off' }, mqtt: { tcp: { host: '127.0.0.1', port: 0 }, ...mqtt } }, '(test)').mqtt;

/** A handler that answers each connection with its transport and the path it was opened on, then ends it. */
const greeting = (stream: Duplex, request?: IncomingMessage): void => {
  stream.on('error', () => undefined);
  stream.end(`hello ${request?.url ?? 'socket'}`);
};

const read = (stream: Duplex): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    stream.on('data', (chunk) => {
      text += String(chunk);
    });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });

const started: MqttListener[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((listener) => listener.close()));
});
async function start(config: GatewayConfig['mqtt']): Promise<MqttListener[]> {
  const listeners = await startMqttListeners(greeting, config);
  started.push(...listeners);
  return listeners;
}

describe('the TCP listener', () => {
  it('hands each connection to the handler, says where it listens, and stops listening when closed', async () => {
    const listeners = await start(mqttConfig({}));
    expect(listeners.map((l) => l.name)).toEqual(['tcp']);
    const [tcp] = listeners as [MqttListener];
    expect(tcp.port).toBeGreaterThan(0);
    expect(tcp.url).toBe(`mqtt://127.0.0.1:${tcp.port}`);
    expect(await read(connectTcp(tcp.port, '127.0.0.1'))).toBe('hello socket');
    expect(tcp.listening()).toBe(true);
    await tcp.close();
    expect(tcp.listening()).toBe(false);
  });

  it('names 127.0.0.1 in the URL of a listener on every interface', async () => {
    const [any] = await start(mqttConfig({ tcp: { host: '0.0.0.0', port: 0 } }));
    expect(any?.url).toBe(`mqtt://127.0.0.1:${any?.port}`);
    const [v6] = await start(mqttConfig({ tcp: { host: '::', port: 0 } }));
    expect(v6?.url).toBe(`mqtt://127.0.0.1:${v6?.port}`);
    const [loopback] = await start(mqttConfig({ tcp: { host: '::1', port: 0 } }));
    expect(loopback?.url).toBe(`mqtt://::1:${loopback?.port}`);
  });

  it('fails with listen_failed, naming the listener and address, when the port is taken', async () => {
    const [tcp] = await start(mqttConfig({}));
    const taken = startMqttListeners(greeting, mqttConfig({ tcp: { host: '127.0.0.1', port: tcp?.port } }));
    await expect(taken).rejects.toMatchObject({
      code: 'listen_failed',
      message: expect.stringMatching(new RegExp(`^MQTT tcp listener cannot bind 127\\.0\\.0\\.1:${tcp?.port}: .*EADDRINUSE`)),
      cause: expect.objectContaining({ code: 'EADDRINUSE' }),
    });
  });
});

describe('the TLS and WebSocket listeners', () => {
  let cert: string;
  let key: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'broker-tls-'));
    cert = join(dir, 'cert.pem');
    key = join(dir, 'key.pem');
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'];
    const result = spawnSync('openssl', [
      ...args,
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  });

  it('serves TLS with the configured certificate, beside TCP', async () => {
    const listeners = await start(mqttConfig({ tls: { host: '127.0.0.1', port: 0, cert, key, ca: cert } }));
    expect(listeners.map((l) => l.name)).toEqual(['tcp', 'tls']);
    const tls = listeners[1] as MqttListener;
    expect(tls.url).toBe(`mqtts://127.0.0.1:${tls.port}`);
    expect(await read(connectTls({ port: tls.port, host: '127.0.0.1', ca: readFileSync(cert) }))).toBe('hello socket');
    expect(tls.listening()).toBe(true);
    await tls.close();
    expect(tls.listening()).toBe(false);
  });

  it('refuses a file it cannot read at the configuration check, and fails to start if it went since', async () => {
    expect(() => mqttConfig({ tls: { port: 0, cert, key, ca: join(tmpdir(), 'no-such-ca.pem') } })).toThrow(
      /mqtt\.tls\.ca: cannot read \S+no-such-ca\.pem: ENOENT/,
    );
    const checked = mqttConfig({ tls: { port: 0, cert, key, ca: cert } });
    const tls = checked.tls as NonNullable<GatewayConfig['mqtt']['tls']>;
    await expect(start({ ...checked, tls: { ...tls, ca: join(tmpdir(), 'no-such-ca.pem') } })).rejects.toThrow(/ENOENT/);
    await expect(start({ ...checked, tls: { ...tls, key: join(tmpdir(), 'no-such-key.pem') } })).rejects.toThrow(/ENOENT/);
  });

  it('fails with listen_failed naming tls or ws when their port is taken, and closes the listeners already started', async () => {
    const [taken] = await start(mqttConfig({}));
    const port = taken?.port;
    const [spare] = await startMqttListeners(greeting, mqttConfig({}));
    const tcp = { host: '127.0.0.1', port: spare?.port };
    await spare?.close();
    await expect(startMqttListeners(greeting, mqttConfig({ tcp, tls: { host: '127.0.0.1', port, cert, key } }))).rejects.toMatchObject({
      code: 'listen_failed',
      message: expect.stringContaining(`MQTT tls listener cannot bind 127.0.0.1:${port}`),
    });
    await expect(startMqttListeners(greeting, mqttConfig({ tcp, ws: { host: '127.0.0.1', port, path: '/mqtt' } }))).rejects.toMatchObject({
      code: 'listen_failed',
      message: expect.stringContaining(`MQTT ws listener cannot bind 127.0.0.1:${port}`),
    });
    // The TCP listener each failed start had opened is closed again: its port can be bound.
    const [again] = await start(mqttConfig({ tcp }));
    expect(again?.port).toBe(spare?.port);
  });

  it('serves WebSocket on the configured path only, handing the upgrade request along', async () => {
    const listeners = await start(mqttConfig({ ws: { host: '0.0.0.0', port: 0, path: '/mqtt' } }));
    expect(listeners.map((l) => l.name)).toEqual(['tcp', 'ws']);
    const ws = listeners[1] as MqttListener;
    expect(ws.url).toBe(`ws://127.0.0.1:${ws.port}/mqtt`);
    const socket = new WebSocket(ws.url);
    const message = await new Promise<string>((resolve, reject) => {
      socket.on('message', (data) => resolve(String(data)));
      socket.on('error', reject);
    });
    expect(message).toBe('hello /mqtt');
    const elsewhere = new WebSocket(`ws://127.0.0.1:${ws.port}/other`);
    await expect(new Promise((resolve, reject) => elsewhere.on('open', resolve).on('error', reject))).rejects.toThrow(/400/);
  });

  it('closes a WebSocket that sends a message over maxPacketBytes (1009), and disconnects clients when closed', async () => {
    const holding = (stream: Duplex): void => {
      stream.on('error', () => undefined);
      stream.resume();
    };
    const listeners = await startMqttListeners(
      holding,
      mqttConfig({ maxPayloadBytes: 1_000, maxPacketBytes: 2_000, ws: { host: '127.0.0.1', port: 0 } }),
    );
    started.push(...listeners);
    const ws = listeners[1] as MqttListener;
    const open = async (): Promise<WebSocket> => {
      const socket = new WebSocket(ws.url);
      await new Promise((resolve, reject) => socket.on('open', resolve).on('error', reject));
      return socket;
    };
    const closedWith = (socket: WebSocket): Promise<number> => new Promise((resolve) => socket.on('close', (code) => resolve(code)));
    const small = await open();
    const big = await open();
    const bigClosed = closedWith(big);
    big.send(Buffer.alloc(2_000));
    big.send(Buffer.alloc(2_001));
    expect(await bigClosed).toBe(1009);
    small.send(Buffer.alloc(2_000));
    const smallClosed = closedWith(small);
    await ws.close();
    expect(await smallClosed).toBe(1006);
    expect(ws.listening()).toBe(false);
  });

  it('keeps TCP keepalive on every connection, TCP, TLS and WebSocket: a link that died without a FIN is found even at MQTT keepalive 0', async () => {
    const holding = (stream: Duplex): void => {
      stream.on('error', () => undefined);
      stream.resume();
    };
    /** The keepalive timer `ss` shows on the gateway's side of each connection to `port` (seconds left), or null. */
    const keepaliveTimers = (port: number): Array<number | null> => {
      const shown = spawnSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
      if (shown.status !== 0) throw new Error(`ss (Debian package iproute2) failed: ${shown.stderr || shown.error?.message}`);
      return shown.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const timer = /timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?sec/.exec(line);
          return timer ? Number(timer[1] ?? 0) * 60 + Number(timer[2]) : null;
        });
    };
    const clients: Array<{ destroy(): void }> = [];
    const connected = async (tcpKeepalive: string): Promise<MqttListener[]> => {
      const listeners = await startMqttListeners(
        holding,
        mqttConfig({ tcpKeepalive, tls: { host: '127.0.0.1', port: 0, cert, key }, ws: { host: '127.0.0.1', port: 0 } }),
      );
      started.push(...listeners);
      const [tcp, tls, ws] = listeners as [MqttListener, MqttListener, MqttListener];
      const tcpSocket = connectTcp(tcp.port, '127.0.0.1');
      const tlsSocket = connectTls({ port: tls.port, host: '127.0.0.1', ca: readFileSync(cert) });
      const wsSocket = new WebSocket(ws.url);
      clients.push(tcpSocket, tlsSocket, { destroy: () => wsSocket.terminate() });
      await Promise.all([
        new Promise((resolve) => tcpSocket.on('connect', resolve)),
        new Promise((resolve) => tlsSocket.on('secureConnect', resolve)),
        new Promise((resolve, reject) => wsSocket.on('open', resolve).on('error', reject)),
      ]);
      return listeners;
    };
    try {
      const on = await connected('45s');
      for (const listener of on) {
        const timers = keepaliveTimers(listener.port);
        expect(timers, listener.name).toHaveLength(1);
        expect(timers[0], `${listener.name}: the first probe within 45 s`).toBeGreaterThan(30);
        expect(timers[0]).toBeLessThanOrEqual(45);
      }
      const off = await connected('0s');
      for (const listener of off) expect(keepaliveTimers(listener.port), listener.name).toEqual([null]);
    } finally {
      // the listeners close (afterEach) once their connections have
      for (const client of clients) client.destroy();
    }
  });
});
