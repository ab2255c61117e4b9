import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packetViolation, publishViolation } from './protocol-rules.js';

const connect = (more: Record<string, unknown> = {}) => ({
  cmd: 'connect',
  clientId: 'dc-01',
  username: 'dc-01',
  password: Buffer.from('s'),
  ...more,
});

describe('MQTT 3.1.1 protocol errors the parser lets through', () => {
  it('a string is refused with U+0000 or U+FFFD (what the decoder makes of ill-formed UTF-8), and taken otherwise', () => {
    const plain = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\u0000') && !s.includes('\ufffd'));
    fc.assert(
      fc.property(plain, plain, (a, b) => {
        expect(packetViolation(connect({ clientId: a + b }))).toBeNull();
        expect(packetViolation(connect({ clientId: `${a}\u0000${b}` }))).toBe('ClientId contains U+0000 (MQTT-1.5.3-2)');
        expect(packetViolation(connect({ username: `${a}\ufffd${b}` }))).toBe('user name is not well-formed UTF-8 (MQTT-1.5.3-1)');
        expect(packetViolation({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ok' }, { topic: `${a}\ufffd${b}` }] })).toBe(
          'topic filter is not well-formed UTF-8 (MQTT-1.5.3-1)',
        );
        expect(publishViolation({ cmd: 'publish', qos: 1, messageId: 1, topic: `${a}\u0000${b}` })).toBe(
          'topic contains U+0000 (MQTT-1.5.3-2)',
        );
      }),
    );
  });

  it('a CONNECT: Will QoS 3, a Will topic with a wildcard, a password without a user name', () => {
    expect(packetViolation(connect({ will: { topic: 'sites/a/devices/d/status', qos: 3 } }))).toBe('Will QoS 3 (MQTT-3.1.2-14)');
    expect(packetViolation(connect({ will: { topic: 'sites/a/devices/d/+', qos: 1 } }))).toMatch(/^Will topic with a wildcard/);
    expect(packetViolation(connect({ will: { topic: 'sites/a/devices/d/status', qos: 2 } }))).toBeNull();
    expect(packetViolation(connect({ username: undefined }))).toBe('password without a user name (MQTT-3.1.2-22)');
    expect(packetViolation(connect({ username: undefined, password: undefined }))).toBeNull();
  });

  it('packet identifier 0, an UNSUBSCRIBE without filters, a PINGREQ with a body, DUP at QoS 0', () => {
    expect(packetViolation({ cmd: 'subscribe', messageId: 0, subscriptions: [{ topic: 'a' }] })).toMatch(/identifier 0/);
    expect(packetViolation({ cmd: 'unsubscribe', messageId: 0, unsubscriptions: ['a'] })).toMatch(/identifier 0/);
    expect(packetViolation({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: [] })).toMatch(/without a topic filter/);
    expect(packetViolation({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['a'] })).toBeNull();
    expect(packetViolation({ cmd: 'pingreq', length: 1 })).toMatch(/PINGREQ/);
    expect(packetViolation({ cmd: 'pingreq', length: 0 })).toBeNull();
    expect(publishViolation({ cmd: 'publish', qos: 0, dup: true, topic: 't' })).toMatch(/DUP/);
    expect(publishViolation({ cmd: 'publish', qos: 1, dup: true, messageId: 4, topic: 't' })).toBeNull();
    expect(publishViolation({ cmd: 'publish', qos: 2, messageId: 0, topic: 't' })).toMatch(/identifier 0/);
    expect(packetViolation({ cmd: 'publish', qos: 0, dup: true, topic: 't' })).toBeNull(); // PUBLISH: publishViolation's
  });
});
