import { describe, expect, it } from 'vitest';
import { createQuarantine } from './quarantine.js';

const entry = (device: string) => ({
  at: '2026-11-22T00:00:00Z',
  reason: 'decode' as const,
  detail: 'x',
  topic: 't',
  clientId: null,
  site: 's',
  device,
});

describe('quarantine', () => {
  it('keeps the newest entries up to its capacity, newest first', () => {
    const quarantine = createQuarantine(2);
    quarantine.add(entry('a'), Buffer.from('1'));
    quarantine.add(entry('b'), Buffer.from('2'));
    quarantine.add(entry('c'), Buffer.from('3'));
    expect(quarantine.list({}).map((e) => e.device)).toEqual(['c', 'b']);
    expect(quarantine.list({ device: 'b' }).map((e) => e.payload)).toEqual(['2']);
  });

  it('keeps a bounded preview of large or binary payloads', () => {
    const quarantine = createQuarantine(5);
    quarantine.add(entry('a'), Buffer.alloc(10_000, 'x'));
    quarantine.add(entry('b'), Buffer.from([0xff, 0x00]));
    const [binary, large] = quarantine.list({});
    expect(large).toMatchObject({ payloadBytes: 10_000, truncated: true, payloadEncoding: 'utf8' });
    expect(large?.payload.length).toBe(2048);
    expect(binary).toMatchObject({ payloadEncoding: 'base64', payload: '/wA=' });
  });
});
