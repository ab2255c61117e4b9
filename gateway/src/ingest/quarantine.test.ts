import { describe, expect, it } from 'vitest';
import { createQuarantine, refusedPointEntry } from './quarantine.js';

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

describe('quarantine: previews, filters and what a restart finds', () => {
  it('a payload of exactly 2048 bytes is kept whole; one byte more is cut to 2048', () => {
    const quarantine = createQuarantine(5);
    quarantine.add(entry('a'), Buffer.alloc(2048, 'y'));
    quarantine.add(entry('b'), Buffer.alloc(2049, 'z'));
    expect(quarantine.list({}).map((e) => [e.device, e.payloadBytes, e.payload.length, e.truncated])).toEqual([
      ['b', 2049, 2048, true],
      ['a', 2048, 2048, false],
    ]);
  });

  it('lists by reason and device, at most `limit`, 100 by default, newest first across the ring', () => {
    const quarantine = createQuarantine(200);
    for (let i = 0; i < 130; i += 1)
      quarantine.add({ ...entry(`d${i % 3}`), reason: i % 2 === 0 ? 'decode' : 'schema' }, Buffer.from(`${i}`));
    expect(quarantine.size).toBe(130);
    expect(quarantine.list({})).toHaveLength(100);
    expect(quarantine.list({}).at(-1)?.payload).toBe('30');
    expect(quarantine.list({ limit: 3 }).map((e) => e.payload)).toEqual(['129', '128', '127']);
    expect(quarantine.list({ reason: 'schema', limit: 3 }).map((e) => e.payload)).toEqual(['129', '127', '125']);
    expect(quarantine.list({ device: 'd0', limit: 3 }).map((e) => e.payload)).toEqual(['129', '126', '123']);
    expect(quarantine.list({ device: 'd0', reason: 'decode', limit: 3 }).map((e) => e.payload)).toEqual(['126', '120', '114']);
    expect(quarantine.list({ device: 'nobody' })).toEqual([]);
  });

  it('a full ring read from any position: the newest `capacity` entries, newest first', () => {
    const quarantine = createQuarantine(4);
    for (let i = 0; i < 11; i += 1) {
      quarantine.add(entry(`d${i}`), Buffer.from(`${i}`));
      const expected = Array.from({ length: Math.min(i + 1, 4) }, (_, k) => `${i - k}`);
      expect(
        quarantine.list({}).map((e) => e.payload),
        `after ${i + 1}`,
      ).toEqual(expected);
    }
    expect(quarantine.size).toBe(4);
  });

  it('kept across restarts: loads the newest that fit, oldest first, keeps each new entry with the bound', () => {
    const saved = ['a', 'b', 'c', 'd'].map((device) => ({
      ...entry(device),
      payloadBytes: 1,
      payload: device,
      payloadEncoding: 'utf8' as const,
      truncated: false,
    }));
    const kept: Array<[string, number]> = [];
    const loads: number[] = [];
    const keep = {
      load: (capacity: number) => {
        loads.push(capacity);
        return saved;
      },
      add: (e: { payload: string }, capacity: number) => kept.push([e.payload, capacity]),
    };
    const quarantine = createQuarantine(3, keep);
    expect(loads).toEqual([3]);
    expect(quarantine.list({}).map((e) => e.device)).toEqual(['d', 'c', 'b']);
    quarantine.add(entry('e'), Buffer.from('e'));
    expect(kept).toEqual([['e', 3]]);
    expect(quarantine.list({}).map((e) => e.device)).toEqual(['e', 'd', 'c']);

    // Fewer saved than the bound: new entries are added after them.
    const roomy = createQuarantine(5, { load: () => saved.slice(0, 2), add: () => undefined });
    roomy.add(entry('x'), Buffer.from('x'));
    roomy.add(entry('y'), Buffer.from('y'));
    roomy.add(entry('z'), Buffer.from('z'));
    roomy.add(entry('w'), Buffer.from('w'));
    expect(roomy.list({}).map((e) => e.device)).toEqual(['w', 'z', 'y', 'x', 'b']);
  });
});

describe('a point InfluxDB refused, as a quarantine entry', () => {
  it('its site and device from the line’s tags, InfluxDB’s answer as the detail', () => {
    const at = Date.UTC(2026, 11, 3, 10);
    expect(
      refusedPointEntry(
        { line: 'telemetry,device=dc-01,profile=dust-collector,site=site-a hopper_temp=40 1764756000000', reason: 'field type conflict' },
        at,
      ),
    ).toEqual({
      at: '2026-12-03T10:00:00.000Z',
      reason: 'influx_refused',
      detail: 'field type conflict',
      topic: 'influxdb',
      clientId: null,
      site: 'site-a',
      device: 'dc-01',
    });
  });

  it('only tags count: not a field or a tag whose name ends in site', () => {
    const entryOf = (line: string) => refusedPointEntry({ line, reason: 'x' }, 0);
    expect(entryOf('telemetry,subsite=s1 note="a,site=zz,device=yy" 1')).toMatchObject({ site: null, device: null });
    expect(entryOf('telemetry hopper_temp=1')).toMatchObject({ site: null, device: null });
  });
});
