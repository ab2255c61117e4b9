import { describe, expect, it } from 'vitest';
import { createQuarantine, type KeptQuarantineEntry, refusedPointEntry, sourceOf } from './quarantine.js';

/** One size in all and as each device's share: the quarantine as a single ring. */
const ring = (size: number) => ({ size, perDevice: size });

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
    const quarantine = createQuarantine(ring(2));
    quarantine.add(entry('a'), Buffer.from('1'));
    quarantine.add(entry('b'), Buffer.from('2'));
    quarantine.add(entry('c'), Buffer.from('3'));
    expect(quarantine.list({}).map((e) => e.device)).toEqual(['c', 'b']);
    expect(quarantine.list({ device: 'b' }).map((e) => e.payload)).toEqual(['2']);
  });

  it('keeps a bounded preview of large or binary payloads', () => {
    const quarantine = createQuarantine(ring(5));
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
    const quarantine = createQuarantine(ring(5));
    quarantine.add(entry('a'), Buffer.alloc(2048, 'y'));
    quarantine.add(entry('b'), Buffer.alloc(2049, 'z'));
    expect(quarantine.list({}).map((e) => [e.device, e.payloadBytes, e.payload.length, e.truncated])).toEqual([
      ['b', 2049, 2048, true],
      ['a', 2048, 2048, false],
    ]);
  });

  it('lists by reason and device, at most `limit`, 100 by default, newest first across the ring', () => {
    const quarantine = createQuarantine(ring(200));
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
    const quarantine = createQuarantine(ring(4));
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

  it('kept across restarts: loads the newest that fit, oldest first; each new entry kept with the one it pushes out', () => {
    const saved: KeptQuarantineEntry[] = ['a', 'b', 'c', 'd'].map((device, index) => ({
      id: 10 + index,
      entry: { ...entry(device), payloadBytes: 1, payload: device, payloadEncoding: 'utf8' as const, truncated: false },
    }));
    const kept: Array<[string, number | undefined]> = [];
    const loads: number[] = [];
    const forgotten: number[][] = [];
    let nextId = 100;
    const keep = {
      load: (size: number) => {
        loads.push(size);
        return saved.slice(-size);
      },
      add: (e: { payload: string }, forgetting: number | undefined) => {
        kept.push([e.payload, forgetting]);
        nextId += 1;
        return nextId;
      },
      forget: (ids: readonly number[]) => forgotten.push([...ids]),
    };
    const quarantine = createQuarantine(ring(3), keep);
    expect(loads).toEqual([3]);
    expect(forgotten).toEqual([]);
    expect(quarantine.list({}).map((e) => e.device)).toEqual(['d', 'c', 'b']);
    quarantine.add(entry('e'), Buffer.from('e'));
    quarantine.add(entry('f'), Buffer.from('f'));
    // b (id 11) and c (id 12) pushed out by e and f; then e (kept as 101) by g
    quarantine.add(entry('g'), Buffer.from('g'));
    quarantine.add(entry('h'), Buffer.from('h'));
    expect(kept).toEqual([
      ['e', 11],
      ['f', 12],
      ['g', 13],
      ['h', 101],
    ]);
    expect(quarantine.list({}).map((e) => e.device)).toEqual(['h', 'g', 'f']);

    // Fewer saved than the bound: new entries are added after them, nothing pushed out.
    const roomyKept: Array<number | undefined> = [];
    const roomy = createQuarantine(ring(5), {
      load: () => saved.slice(0, 2),
      add: (_e, forgetting) => {
        roomyKept.push(forgetting);
        return 0;
      },
      forget: () => undefined,
    });
    for (const device of ['x', 'y', 'z', 'w']) roomy.add(entry(device), Buffer.from(device));
    expect(roomy.list({}).map((e) => e.device)).toEqual(['w', 'z', 'y', 'x', 'b']);
    expect(roomyKept).toEqual([undefined, undefined, undefined, 10]);
  });

  it('loaded under a smaller share than they were kept with: each source keeps its newest, the keep forgets the rest', () => {
    const saved: KeptQuarantineEntry[] = ['a', 'b', 'a', 'a', 'b', 'c'].map((device, index) => ({
      id: index + 1,
      entry: { ...entry(device), payloadBytes: 1, payload: `${device}${index + 1}`, payloadEncoding: 'utf8' as const, truncated: false },
    }));
    const forgotten: number[][] = [];
    const quarantine = createQuarantine(
      { size: 6, perDevice: 1 },
      { load: () => saved, add: () => 0, forget: (ids) => forgotten.push([...ids]) },
    );
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['c6', 'b5', 'a4']);
    expect(forgotten).toEqual([[1, 3, 2]]);
  });
});

describe('quarantine: each device its share (perDevice)', () => {
  it('one device flooding it with 10× the quarantine leaves every other device’s entries, and keeps its own newest', () => {
    const quarantine = createQuarantine({ size: 20, perDevice: 5 });
    quarantine.add(entry('a'), Buffer.from('a1'));
    quarantine.add(entry('b'), Buffer.from('b1'));
    for (let i = 0; i < 100; i += 1) quarantine.add(entry('x'), Buffer.from(`x${i}`));
    quarantine.add(entry('c'), Buffer.from('c1'));
    for (let i = 100; i < 200; i += 1) quarantine.add(entry('x'), Buffer.from(`x${i}`));
    quarantine.add(entry('a'), Buffer.from('a2'));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['a2', 'x199', 'x198', 'x197', 'x196', 'x195', 'c1', 'b1', 'a1']);
    expect(quarantine.size).toBe(9);
    expect(quarantine.list({ device: 'x' })).toHaveLength(5);
  });

  it('many devices each under their share: the oldest of all is pushed out once the whole is full', () => {
    const quarantine = createQuarantine({ size: 6, perDevice: 3 });
    for (let i = 0; i < 10; i += 1) quarantine.add(entry(`d${i}`), Buffer.from(`d${i}`));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['d9', 'd8', 'd7', 'd6', 'd5', 'd4']);
    quarantine.add(entry('d9'), Buffer.from('d9 second'));
    quarantine.add(entry('d9'), Buffer.from('d9 third'));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['d9 third', 'd9 second', 'd9', 'd8', 'd7', 'd6']);
    // d9 at its share now: its own oldest goes, not d6
    quarantine.add(entry('d9'), Buffer.from('d9 fourth'));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['d9 fourth', 'd9 third', 'd9 second', 'd8', 'd7', 'd6']);
    expect(quarantine.size).toBe(6);
  });

  it('a device whose oldest went out under the whole bound counts its share from what it has left', () => {
    const quarantine = createQuarantine({ size: 6, perDevice: 3 });
    for (const payload of ['b1', 'a1', 'b2', 'c1', 'c2', 'c3', 'd1']) quarantine.add(entry(payload.slice(0, 1)), Buffer.from(payload));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['d1', 'c3', 'c2', 'c1', 'b2', 'a1']);
    // b holds one entry now (b1 went out as the oldest of all): its next entry pushes out a1, not b2
    quarantine.add(entry('b'), Buffer.from('b3'));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['b3', 'd1', 'c3', 'c2', 'c1', 'b2']);
    // c at its share: its own oldest goes
    quarantine.add(entry('c'), Buffer.from('c4'));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual(['c4', 'b3', 'd1', 'c3', 'c2', 'b2']);
  });

  it('without a device an entry counts against its MQTT client, without one against its topic; a client named like a device has its own share', () => {
    const quarantine = createQuarantine({ size: 20, perDevice: 2 });
    const unknown = (clientId: string | null, topic = 't') => ({ ...entry('dc-01'), device: null, clientId, topic });
    quarantine.add(entry('dc-01'), Buffer.from('device 1'));
    quarantine.add(entry('dc-01'), Buffer.from('device 2'));
    quarantine.add(unknown('lab-7'), Buffer.from('lab 1'));
    for (let i = 0; i < 5; i += 1) quarantine.add(unknown('dc-01'), Buffer.from(`client ${i}`));
    for (let i = 0; i < 5; i += 1) quarantine.add(unknown(null, 'influxdb'), Buffer.from(`influx ${i}`));
    quarantine.add(unknown(null, 'other'), Buffer.from('other 1'));
    expect(quarantine.list({}).map((e) => e.payload)).toEqual([
      'other 1',
      'influx 4',
      'influx 3',
      'client 4',
      'client 3',
      'lab 1',
      'device 2',
      'device 1',
    ]);
    expect(sourceOf({ device: 'dc-01', clientId: 'c', topic: 't' })).toBe('device:dc-01');
    expect(sourceOf({ device: null, clientId: 'dc-01', topic: 't' })).toBe('client:dc-01');
    expect(sourceOf({ device: null, clientId: null, topic: 'influxdb' })).toBe('topic:influxdb');
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
