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

/** The parser's own methods, which the guard's call after its checks. */
interface ParserMethods {
  parse: PacketParser['parse'];
  _parseLength: PacketParser['_parseLength'];
  _emitError: PacketParser['_emitError'];
}

/** What the guard keeps of one connection, on its parser: one object, not closures and bound methods per connection. */
interface Guard {
  client: Client;
  stream: Duplex;
  deps: GuardDeps;
  own: ParserMethods;
  preAuthBytes: number;
  cutOff: boolean;
}

const GUARD = Symbol('connection guard');
type GuardedParser = PacketParser & { [GUARD]: Guard };

function cut(guard: Guard, reason: CloseReason, detail: Record<string, unknown>): void {
  if (guard.cutOff) return;
  guard.cutOff = true;
  guard.deps.metrics.mqttConnectionsClosed.inc({ reason });
  guard.deps.log.info({ clientId: guard.client.id, reason, ...detail }, 'connection closed by the gateway');
  guard.stream.destroy();
}

function guardedParse(this: GuardedParser, buffer: Buffer): number {
  const guard = this[GUARD];
  if (guard.cutOff) return 0;
  if (!guard.client.connected) {
    guard.preAuthBytes += buffer.length;
    const limit = guard.deps.limits.maxPreAuthBytes;
    if (guard.preAuthBytes > limit) {
      cut(guard, 'pre_auth_bytes', { bytes: guard.preAuthBytes, limit });
      return 0;
    }
  }
  return guard.own.parse.call(this, buffer);
}

function guardedParseLength(this: GuardedParser): boolean {
  const guard = this[GUARD];
  if (!guard.own._parseLength.call(this)) return false;
  const connected = guard.client.connected;
  const limit = connected ? guard.deps.limits.maxPacketBytes : guard.deps.limits.maxPreAuthBytes;
  if (this.packet.length <= limit) return true;
  this.error = new Error(`packet of ${this.packet.length} bytes announced; limit ${limit}`);
  cut(guard, connected ? 'packet_too_large' : 'pre_auth_bytes', { announced: this.packet.length, limit });
  return false;
}

function guardedEmitError(this: GuardedParser, error: Error): void {
  const guard = this[GUARD];
  if (guard.client.connected || error.message !== 'Invalid protocol version') {
    guard.own._emitError.call(this, error);
    return;
  }
  this.error = error;
  guard.cutOff = true;
  guard.deps.metrics.mqttConnectionsClosed.inc({ reason: 'protocol_version' });
  const { stream } = guard;
  stream.end(CONNACK_UNACCEPTABLE_PROTOCOL);
  setTimeout(() => stream.destroy(), CLOSE_GRACE_MS).unref();
}

/**
 * `broker.handle` with memory bounds that aedes does not have: a client that never logs in cannot make the
 * gateway buffer more than `maxPreAuthBytes`, and no packet larger than `maxPacketBytes` is buffered at all
 * (aedes would otherwise collect a 256 MB packet announced in its first five bytes). An unsupported
 * protocol level gets CONNACK 1 before the close (MQTT-3.1.2-2), where the parser alone would just drop it.
 * Per connection it costs one object on the parser (the checks are shared functions): an idle connection's memory is
 * what a fleet's gateway holds most of (issue 17).
 */
export function guardedHandle(broker: Aedes, deps: GuardDeps): (stream: Duplex, request?: IncomingMessage) => void {
  /** The parser class's own methods, by prototype (taken from the first parser seen). */
  const ownMethods = new WeakMap<object, ParserMethods>();
  return (stream, request) => {
    broker.handle(stream, request as IncomingMessage);
    const client = (stream as Duplex & { client?: Client }).client;
    const parser = (client as (Client & { _parser?: PacketParser }) | undefined)?._parser as GuardedParser | undefined;
    if (!client || !parser) throw new Error('aedes no longer exposes its packet parser: the connection guard needs updating');
    if (Object.hasOwn(parser, 'parse') || Object.hasOwn(parser, '_parseLength') || Object.hasOwn(parser, '_emitError'))
      throw new Error('aedes gives each connection a parser with methods of its own: the connection guard needs updating');
    const prototype = Object.getPrototypeOf(parser) as ParserMethods;
    let own = ownMethods.get(prototype);
    if (own === undefined) {
      own = { parse: prototype.parse, _parseLength: prototype._parseLength, _emitError: prototype._emitError };
      ownMethods.set(prototype, own);
    }
    parser[GUARD] = { client, stream, deps, own, preAuthBytes: 0, cutOff: false };
    parser.parse = guardedParse;
    parser._parseLength = guardedParseLength;
    parser._emitError = guardedEmitError;
  };
}
