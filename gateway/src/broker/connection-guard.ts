import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';

export interface ConnectionLimits {
  /** What a connection may send before its CONNECT is accepted (a CONNECT is a few hundred bytes). */
  maxPreAuthBytes: number;
  /** The largest packet an accepted connection may announce; checked from the fixed header, before buffering. */
  maxPacketBytes: number;
}

/** Why the gateway closed a connection itself (`gateway_mqtt_connections_closed_total{reason}`). */
export type CloseReason = 'pre_auth_bytes' | 'packet_too_large' | 'protocol_version' | 'protocol_error';

/** The internals of mqtt-packet's parser (9.x) that aedes 1.x reads every connection through. */
interface PacketParser {
  packet: { length: number };
  error: Error | null;
  parse(buffer: Buffer): number;
  _parseLength(): boolean;
  _emitError(error: Error): void;
}

/** MQTT 3.1.1 §3.2.2.3: CONNACK with return code 1, unacceptable protocol level. */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);

/** A peer that does not close after its CONNACK 1 is cut off after this long. */
const CLOSE_GRACE_MS = 1_000;

export interface GuardDeps {
  limits: ConnectionLimits;
  metrics: GatewayMetrics;
  log: Logger;
}

/**
 * `broker.handle` with memory bounds that aedes does not have: a client that never logs in cannot make the
 * gateway buffer more than `maxPreAuthBytes`, and no packet larger than `maxPacketBytes` is buffered at all
 * (aedes would otherwise collect a 256 MB packet announced in its first five bytes). An unsupported
 * protocol level gets CONNACK 1 before the close (MQTT-3.1.2-2), where the parser alone would just drop it.
 */
export function guardedHandle(broker: Aedes, deps: GuardDeps): (stream: Duplex, request?: IncomingMessage) => void {
  const closed = deps.metrics.mqttConnectionsClosed;
  return (stream, request) => {
    broker.handle(stream, request as IncomingMessage);
    const client = (stream as Duplex & { client?: Client }).client;
    const parser = (client as (Client & { _parser?: PacketParser }) | undefined)?._parser;
    if (!client || !parser) throw new Error('aedes no longer exposes its packet parser: the connection guard needs updating');

    let cutOff = false;
    let preAuthBytes = 0;
    const cut = (reason: CloseReason, detail: Record<string, unknown>): void => {
      if (cutOff) return;
      cutOff = true;
      closed.inc({ reason });
      deps.log.info({ clientId: client.id, reason, ...detail }, 'connection closed by the gateway');
      stream.destroy();
    };

    const parse = parser.parse.bind(parser);
    parser.parse = (buffer) => {
      if (cutOff) return 0;
      if (!client.connected) {
        preAuthBytes += buffer.length;
        if (preAuthBytes > deps.limits.maxPreAuthBytes) {
          cut('pre_auth_bytes', { bytes: preAuthBytes, limit: deps.limits.maxPreAuthBytes });
          return 0;
        }
      }
      return parse(buffer);
    };

    const parseLength = parser._parseLength.bind(parser);
    parser._parseLength = () => {
      if (!parseLength()) return false;
      const limit = client.connected ? deps.limits.maxPacketBytes : deps.limits.maxPreAuthBytes;
      if (parser.packet.length <= limit) return true;
      parser.error = new Error(`packet of ${parser.packet.length} bytes announced; limit ${limit}`);
      cut(client.connected ? 'packet_too_large' : 'pre_auth_bytes', { announced: parser.packet.length, limit });
      return false;
    };

    const emitError = parser._emitError.bind(parser);
    parser._emitError = (error) => {
      if (client.connected || error.message !== 'Invalid protocol version') {
        emitError(error);
        return;
      }
      parser.error = error;
      cutOff = true;
      closed.inc({ reason: 'protocol_version' });
      stream.end(CONNACK_UNACCEPTABLE_PROTOCOL);
      setTimeout(() => stream.destroy(), CLOSE_GRACE_MS).unref();
    };
  };
}
