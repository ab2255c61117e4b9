import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServerType, type IncomingMessage } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { GatewayConfig } from '../config/config-schema.js';
import { GatewayError } from '../errors.js';

export interface MqttListener {
  name: 'tcp' | 'tls' | 'ws';
  url: string;
  port: number;
  /** Whether it still accepts connections (false once closed, or if its server stopped). */
  listening(): boolean;
  close(): Promise<void>;
}

function listen(server: Server | HttpServerType, host: string, port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new GatewayError('listen_failed', `MQTT ${name} listener cannot bind ${host}:${port}: ${error.message}`, undefined, {
          cause: error,
        }),
      ),
    );
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

const closeServer = (server: Server | HttpServerType): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

const displayHost = (host: string): string => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

/** A connection handed to the broker: aedes's `handle`, or the gateway's guarded one. */
export type ConnectionHandler = (stream: Duplex, request?: IncomingMessage) => void;

/**
 * MQTT 3.1.1 over TCP (always), TLS and WebSocket (when configured), all feeding one broker. When one cannot
 * start, those already listening are closed again before the error is thrown.
 */
export async function startMqttListeners(handle: ConnectionHandler, config: GatewayConfig['mqtt']): Promise<MqttListener[]> {
  const listeners: MqttListener[] = [];
  try {
    await startEach(handle, config, listeners);
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    throw error;
  }
  return listeners;
}

async function startEach(handle: ConnectionHandler, config: GatewayConfig['mqtt'], listeners: MqttListener[]): Promise<void> {
  // TCP keepalive on each connection as it is accepted, before TLS or WebSocket (mqtt.tcpKeepalive): MQTT's own check
  // is off for a client that asked keepalive 0
  const keepalive = (server: Server | HttpServerType): void => {
    if (config.tcpKeepalive > 0) server.on('connection', (socket: Socket) => socket.setKeepAlive(true, config.tcpKeepalive));
  };
  const tcp = createServer((socket) => handle(socket));
  keepalive(tcp);
  const tcpPort = await listen(tcp, config.tcp.host, config.tcp.port, 'tcp');
  listeners.push({
    name: 'tcp',
    port: tcpPort,
    url: `mqtt://${displayHost(config.tcp.host)}:${tcpPort}`,
    listening: () => tcp.listening,
    close: () => closeServer(tcp),
  });

  if (config.tls) {
    const tls = createTlsServer(
      {
        cert: readFileSync(config.tls.cert),
        key: readFileSync(config.tls.key),
        ...(config.tls.ca ? { ca: readFileSync(config.tls.ca) } : {}),
      },
      (socket) => handle(socket),
    );
    keepalive(tls);
    const port = await listen(tls, config.tls.host, config.tls.port, 'tls');
    listeners.push({
      name: 'tls',
      port,
      url: `mqtts://${displayHost(config.tls.host)}:${port}`,
      listening: () => tls.listening,
      close: () => closeServer(tls),
    });
  }

  if (config.ws) {
    const http = createHttpServer();
    // A WebSocket message is buffered whole before MQTT sees it: bound it as MQTT packets are bounded.
    const wss = new WebSocketServer({ server: http, path: config.ws.path, maxPayload: config.maxPacketBytes });
    wss.on('connection', (socket, request) => handle(createWebSocketStream(socket), request));
    keepalive(http);
    // ws re-emits the HTTP server's errors here; unheard, a port in use threw instead of failing listen() below.
    wss.on('error', () => undefined);
    const port = await listen(http, config.ws.host, config.ws.port, 'ws');
    listeners.push({
      name: 'ws',
      port,
      url: `ws://${displayHost(config.ws.host)}:${port}${config.ws.path}`,
      listening: () => http.listening,
      close: async () => {
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await closeServer(http);
      },
    });
  }
}
