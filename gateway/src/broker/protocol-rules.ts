/**
 * What MQTT 3.1.1 forbids in a packet that mqtt-packet 9 and aedes 1 let through: each a protocol error, on which
 * the server closes the connection (MQTT-4.8.0-1; a CONNECT's, without a CONNACK: MQTT-3.1.4-1). A string in a
 * packet is decoded with `Buffer.toString`, which turns ill-formed UTF-8 into U+FFFD: a string holding U+FFFD is taken
 * as ill-formed (MQTT-1.5.3-1; a U+FFFD sent well-formed is refused with it) and one holding U+0000 is refused
 * (MQTT-1.5.3-2).
 */

/** The fields of the packets checked, as mqtt-packet's parser gives them. */
export interface WirePacket {
  cmd?: string;
  length?: number;
  qos?: number;
  dup?: boolean;
  messageId?: number;
  topic?: string;
  clientId?: string;
  username?: string;
  password?: Buffer;
  will?: { topic?: string; qos?: number } | null;
  subscriptions?: Array<{ topic: string }>;
  unsubscriptions?: string[];
}

function stringViolation(what: string, text: string | undefined): string | null {
  if (text === undefined) return null;
  if (text.includes('\u0000')) return `${what} contains U+0000 (MQTT-1.5.3-2)`;
  if (text.includes('\ufffd')) return `${what} is not well-formed UTF-8 (MQTT-1.5.3-1)`;
  return null;
}

const hasWildcard = (topic: string): boolean => topic.includes('+') || topic.includes('#');

function connectViolation(packet: WirePacket): string | null {
  const will = packet.will;
  if (will) {
    if ((will.qos ?? 0) > 2) return 'Will QoS 3 (MQTT-3.1.2-14)';
    if (will.topic !== undefined && hasWildcard(will.topic)) return 'Will topic with a wildcard (MQTT-3.3.2-2, MQTT-4.7.1-1)';
  }
  if (packet.password !== undefined && packet.username === undefined) return 'password without a user name (MQTT-3.1.2-22)';
  return (
    stringViolation('ClientId', packet.clientId) ??
    stringViolation('user name', packet.username) ??
    stringViolation('Will topic', will?.topic)
  );
}

function filtersViolation(filters: readonly string[]): string | null {
  for (const filter of filters) {
    const violation = stringViolation('topic filter', filter);
    if (violation) return violation;
  }
  return null;
}

/** A PUBLISH the protocol forbids (checked before the broker takes it). */
export function publishViolation(packet: WirePacket): string | null {
  // A Last Will is published by the broker itself, without a packet identifier: only a wire packet can carry 0.
  if ((packet.qos ?? 0) > 0 && packet.messageId === 0) return 'QoS > 0 PUBLISH with packet identifier 0 (MQTT-2.3.1-1)';
  if ((packet.qos ?? 0) === 0 && packet.dup === true) return 'QoS 0 PUBLISH with DUP set (MQTT-3.3.1-2)';
  return stringViolation('topic', packet.topic);
}

/** A CONNECT, SUBSCRIBE, UNSUBSCRIBE or PINGREQ the protocol forbids (checked as the parser hands it on). */
export function packetViolation(packet: WirePacket): string | null {
  switch (packet.cmd) {
    case 'connect':
      return connectViolation(packet);
    case 'subscribe':
      if (packet.messageId === 0) return 'SUBSCRIBE with packet identifier 0 (MQTT-2.3.1-1)';
      return filtersViolation((packet.subscriptions ?? []).map((s) => s.topic));
    case 'unsubscribe':
      if (packet.messageId === 0) return 'UNSUBSCRIBE with packet identifier 0 (MQTT-2.3.1-1)';
      if ((packet.unsubscriptions ?? []).length === 0) return 'UNSUBSCRIBE without a topic filter (MQTT-3.10.3-2)';
      return filtersViolation(packet.unsubscriptions ?? []);
    case 'pingreq':
      return (packet.length ?? 0) === 0 ? null : 'PINGREQ with a remaining length (MQTT-3.12)';
    default:
      return null;
  }
}
