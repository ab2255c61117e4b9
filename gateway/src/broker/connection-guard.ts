import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Aedes, Client } from 'aedes';
import { BufferList } from 'bl';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { packetViolation, type WirePacket } from './protocol-rules.js';

export interface ConnectionLimits {
  /** What a connection may send before its CONNECT is accepted (a CONNECT is a few hundred bytes). */
  maxPreAuthBytes: number;
  /** The largest packet an accepted connection may announce; checked from the fixed header, before buffering. */
  maxPacketBytes: number;
}

/** Why the gateway closed a connection itself (`gateway_mqtt_connections_closed_total{reason}`). */
export type CloseReason = 'pre_auth_bytes' | 'packet_too_large' | 'protocol_version' | 'protocol_error';

/** The methods of mqtt-packet's parser (9.x) that the guard wraps; aedes 1.x reads every connection through it. */
interface ParserMethods {
  parse(buffer: Buffer): number;
  _parseLength(): boolean;
  _emitError(error: Error): void;
}

/** mqtt-packet's parser as the guard reads and extends it: a connection's guard state lives on its parser. */
interface GuardedParser extends ParserMethods {
  client: Client & { conn: Duplex };
  packet: { length: number; cmd?: string; qos?: number; retain?: boolean; dup?: boolean };
  error: Error | null;
  _list: InstanceType<typeof BufferList>;
  _stateCounter: number;
  emit(event: string, packetOrError: unknown): boolean;
  /** Bytes received before the CONNECT was accepted, or CUT once the guard has closed the connection. */
  _guardBytes: number;
  /** A PUBLISH over maxPacketBytes being read past, or null. */
  _skipping: Skipping | null;
}

/**
 * A PUBLISH larger than the gateway buffers, read past as it arrives: its first bytes are kept (topic, packet id and a
 * preview for the quarantine), the rest is counted and dropped. At its end the broker gets the PUBLISH with the preview
 * as its payload and `tooLarge` set: ingest refuses it as too_large and the device gets its PUBACK, instead of a closed
 * connection it would send the same packet into again after every reconnect. (Over WebSocket the frame limit of
 * listeners.ts refuses such a message before it reaches the parser.)
 */
interface Skipping {
  remaining: number;
  /** Its first bytes, copied as they come (one buffer, whatever the reads: a byte a read costs no more). */
  head: Buffer;
  headBytes: number;
  /** How many first bytes to keep: its topic's length (2), then as many as its topic, packet id and preview take. */
  headLimit: number;
  announced: number;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** Bytes of the packet the parser held when the skip began, to read past first. */
  pending: Buffer | null;
}

/** What a too-large PUBLISH hands the broker besides its preview (`PublishPacket.tooLarge`). */
export interface TooLargePublish {
  /** The packet's length as announced. */
  bytes: number;
  limit: number;
}

/** The payload's first bytes kept of a too-large PUBLISH, for the quarantine (with its topic and packet id). */
const PREVIEW_BYTES = 2_048;

/** `_guardBytes` of a connection the guard has closed: nothing more is parsed. */
const CUT = -1;

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
 *
 * A CONNECT, SUBSCRIBE, UNSUBSCRIBE or PINGREQ the protocol forbids but the parser and aedes take (protocol-rules.ts:
 * a Will of QoS 3 or with a wildcard, ill-formed UTF-8, packet identifier 0, …) closes the connection as it is parsed.
 *
 * An idle connection's memory is mostly aedes's and Node's (issue 17), so the guard adds no closures to it: its
 * methods are made once per broker and read a connection's state from the parser's own fields. It also gives the
 * parser bl's plain `BufferList` for the stream-wrapped one mqtt-packet makes (the parser uses only its byte-list
 * methods; after a parse error it makes a stream again, on a connection aedes is closing): about 0.9 KiB of heap
 * less per connection.
 */
export function guardedHandle(broker: Aedes, deps: GuardDeps): (stream: Duplex, request?: IncomingMessage) => void {
  const closed = deps.metrics.mqttConnectionsClosed;
  const { maxPreAuthBytes, maxPacketBytes } = deps.limits;

  const cut = (parser: GuardedParser, reason: CloseReason, detail: Record<string, unknown>): void => {
    if (parser._guardBytes === CUT) return;
    parser._guardBytes = CUT;
    closed.inc({ reason });
    deps.log.info({ clientId: parser.client.id, reason, ...detail }, 'connection closed by the gateway');
    parser.client.conn.destroy();
  };

  /** Begins reading past the PUBLISH whose length the parser just read; what it holds of it is read past first. */
  const startSkipping = (parser: GuardedParser): void => {
    const { packet } = parser;
    const held = parser._list.slice();
    parser._list = new BufferList();
    const headLimit = Math.min(2, packet.length);
    parser._skipping = {
      remaining: packet.length,
      head: Buffer.allocUnsafe(headLimit),
      headBytes: 0,
      headLimit,
      announced: packet.length,
      qos: packet.qos ?? 0,
      retain: packet.retain === true,
      dup: packet.dup === true,
      pending: held.length > 0 ? held : null,
    };
  };

  /** Reads `buffer` past the skipped packet: what follows its end, or null while it goes on. */
  const skipPast = (parser: GuardedParser, skipping: Skipping, buffer: Buffer): Buffer | null => {
    const used = Math.min(skipping.remaining, buffer.length);
    for (let offset = 0; offset < used && skipping.headBytes < skipping.headLimit; ) {
      const copied = buffer.copy(
        skipping.head,
        skipping.headBytes,
        offset,
        Math.min(used, offset + skipping.headLimit - skipping.headBytes),
      );
      skipping.headBytes += copied;
      offset += copied;
      if (skipping.headLimit === 2 && skipping.headBytes === 2) {
        // the topic's length is read: room for the topic, the packet id and the preview, no more
        const limit = Math.min(skipping.announced, 2 + skipping.head.readUInt16BE(0) + (skipping.qos > 0 ? 2 : 0) + PREVIEW_BYTES);
        const head = Buffer.allocUnsafe(limit);
        skipping.head.copy(head, 0, 0, 2);
        skipping.head = head;
        skipping.headLimit = limit;
      }
    }
    skipping.remaining -= used;
    if (skipping.remaining > 0) return null;
    parser._skipping = null;
    handOver(parser, skipping);
    return buffer.subarray(used);
  };

  /** The skipped PUBLISH, to the broker: topic and packet id as sent, the preview as payload, `tooLarge` set. */
  const handOver = (parser: GuardedParser, skipping: Skipping): void => {
    const head = skipping.head.subarray(0, skipping.headBytes);
    const topicEnd = head.length >= 2 ? 2 + head.readUInt16BE(0) : Number.POSITIVE_INFINITY;
    const payloadStart = topicEnd + (skipping.qos > 0 ? 2 : 0);
    if (payloadStart > head.length) {
      cut(parser, 'packet_too_large', { announced: skipping.announced, limit: maxPacketBytes });
      return;
    }
    const Packet = parser.packet.constructor as new () => Record<string, unknown>;
    const publish = Object.assign(new Packet(), {
      cmd: 'publish',
      qos: skipping.qos,
      retain: skipping.retain,
      dup: skipping.dup,
      length: skipping.announced,
      topic: head.toString('utf8', 2, topicEnd),
      payload: head.subarray(payloadStart, payloadStart + PREVIEW_BYTES),
      tooLarge: { bytes: skipping.announced, limit: maxPacketBytes } satisfies TooLargePublish,
    });
    if (skipping.qos > 0) publish.messageId = head.readUInt16BE(topicEnd);
    parser.packet = new Packet() as GuardedParser['packet'];
    parser._stateCounter = 0;
    parser.emit('packet', publish);
  };

  /**
   * The parser's `emit` (mqtt-packet emits `packet` and `error`, one argument each: no rest array a packet): a packet
   * the protocol forbids is not handed on, and nothing is once the guard has cut.
   */
  function emit(this: GuardedParser, event: string, packetOrError: unknown): boolean {
    if (event === 'packet') {
      if (this._guardBytes === CUT) return false;
      const violation = packetViolation(packetOrError as WirePacket);
      if (violation !== null) {
        cut(this, 'protocol_error', { violation });
        return false;
      }
    }
    return EventEmitter.prototype.emit.call(this, event, packetOrError);
  }

  /** mqtt-packet's parser methods with the guard's checks, made once and set on each connection's parser. */
  let base: ParserMethods | undefined;
  const guarded: ParserMethods = {
    parse(this: GuardedParser, buffer) {
      if (this._guardBytes === CUT) return 0;
      if (!this.client.connected) {
        this._guardBytes += buffer.length;
        if (this._guardBytes > maxPreAuthBytes) {
          cut(this, 'pre_auth_bytes', { bytes: this._guardBytes, limit: maxPreAuthBytes });
          return 0;
        }
      }
      let bytes = buffer;
      if (this._skipping) {
        const after = skipPast(this, this._skipping, bytes);
        if (after === null || this._guardBytes === CUT) return 0;
        bytes = after;
      }
      const left = (base as ParserMethods).parse.call(this, bytes);
      // a too-large PUBLISH began in these bytes: what the parser held of it (and after it) is read past now
      const pending = this._skipping?.pending;
      if (!this._skipping || !pending) return left;
      this._skipping.pending = null;
      return guarded.parse.call(this, pending);
    },
    _parseLength(this: GuardedParser) {
      if (!(base as ParserMethods)._parseLength.call(this)) return false;
      const connected = this.client.connected;
      const limit = connected ? maxPacketBytes : maxPreAuthBytes;
      if (this.packet.length <= limit) return true;
      if (connected && this.packet.cmd === 'publish') {
        startSkipping(this);
        return false;
      }
      this.error = new Error(`packet of ${this.packet.length} bytes announced; limit ${limit}`);
      cut(this, connected ? 'packet_too_large' : 'pre_auth_bytes', { announced: this.packet.length, limit });
      return false;
    },
    _emitError(this: GuardedParser, error) {
      if (this.client.connected || error.message !== 'Invalid protocol version') {
        (base as ParserMethods)._emitError.call(this, error);
        return;
      }
      this.error = error;
      this._guardBytes = CUT;
      closed.inc({ reason: 'protocol_version' });
      const stream = this.client.conn;
      stream.end(CONNACK_UNACCEPTABLE_PROTOCOL);
      setTimeout(() => stream.destroy(), CLOSE_GRACE_MS).unref();
    },
  };

  return (stream, request) => {
    broker.handle(stream, request as IncomingMessage);
    const client = (stream as Duplex & { client?: Client }).client;
    const parser = (client as (Client & { _parser?: GuardedParser }) | undefined)?._parser;
    if (!client || !parser || parser.client !== client) {
      throw new Error('aedes no longer exposes its packet parser: the connection guard needs updating');
    }
    // Own properties, not a prototype swapped in: V8 would give every parser a map of its own.
    base ??= Object.getPrototypeOf(parser) as ParserMethods;
    parser._list = new BufferList();
    parser._guardBytes = 0;
    parser._skipping = null;
    parser.parse = guarded.parse;
    parser._parseLength = guarded._parseLength;
    parser._emitError = guarded._emitError;
    parser.emit = emit;
  };
}
