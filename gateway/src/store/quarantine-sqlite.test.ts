import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createQuarantine, type Quarantine } from '../ingest/quarantine.js';
import { openStore, type StoreDatabase } from './open-store.js';
import { createSqliteQuarantineKeep } from './quarantine-sqlite.js';

const entry = (device: string) => ({
  at: '2026-11-22T00:00:00Z',
  reason: 'decode' as const,
  detail: `bad payload from ${device}`,
  topic: `sites/s/devices/${device}/telemetry`,
  clientId: device,
  site: 's',
  device,
});

const open = (dir: string) => openStore({ dataDir: dir, synchronous: 'normal' });
/** The payloads of the rows, oldest first: what the next start loads. */
const rowsOf = (db: StoreDatabase): string[] =>
  (db.prepare('SELECT entry FROM quarantine ORDER BY rank').pluck().all() as string[]).map((text) => JSON.parse(text).payload);
const payloadsOf = (quarantine: Quarantine): string[] => quarantine.list({ limit: 1_000 }).map((e) => e.payload);

describe('the quarantine in the local store', () => {
  it('a restart finds the newest refused payloads, newest first, and the bound still holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-store-'));
    const first = openStore({ dataDir: dir, synchronous: 'normal' });
    const before = createQuarantine({ size: 3, perDevice: 3 }, createSqliteQuarantineKeep(first));
    for (const device of ['a', 'b', 'c', 'd', 'e']) before.add(entry(device), Buffer.from(`payload of ${device}`));
    first.close();

    const second = openStore({ dataDir: dir, synchronous: 'normal' });
    const after = createQuarantine({ size: 3, perDevice: 3 }, createSqliteQuarantineKeep(second));
    expect(after.list({})).toEqual(before.list({}));
    expect(after.list({}).map((e) => [e.device, e.payload])).toEqual([
      ['e', 'payload of e'],
      ['d', 'payload of d'],
      ['c', 'payload of c'],
    ]);
    after.add(entry('f'), Buffer.from('payload of f'));
    expect(after.list({}).map((e) => e.device)).toEqual(['f', 'e', 'd']);
    expect(second.prepare('SELECT count(*) FROM quarantine').pluck().get()).toBe(3);
    second.close();
    // a smaller bound after a restart: only the newest that fit
    const third = openStore({ dataDir: dir, synchronous: 'normal' });
    expect(
      createQuarantine({ size: 2, perDevice: 2 }, createSqliteQuarantineKeep(third))
        .list({})
        .map((e) => e.device),
    ).toEqual(['f', 'e']);
    expect(rowsOf(third)).toEqual(['payload of e', 'payload of f']);
    third.close();
  });

  it('one device flooding it: the store forgets exactly what the quarantine pushed out, and a restart finds the same list', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-store-'));
    const bounds = { size: 8, perDevice: 3 };
    const first = open(dir);
    const before = createQuarantine(bounds, createSqliteQuarantineKeep(first));
    before.add(entry('a'), Buffer.from('a1'));
    before.add(entry('b'), Buffer.from('b1'));
    for (let i = 0; i < 40; i += 1) before.add(entry('x'), Buffer.from(`x${i}`));
    before.add(entry('c'), Buffer.from('c1'));
    for (let i = 40; i < 80; i += 1) before.add(entry('x'), Buffer.from(`x${i}`));
    before.add(entry('a'), Buffer.from('a2'));
    const listed = ['a2', 'x79', 'x78', 'x77', 'c1', 'b1', 'a1'];
    expect(payloadsOf(before)).toEqual(listed);
    expect(rowsOf(first)).toEqual([...listed].reverse());
    first.close();

    const second = open(dir);
    const after = createQuarantine(bounds, createSqliteQuarantineKeep(second));
    expect(after.list({ limit: 1_000 })).toEqual(before.list({ limit: 1_000 }));
    // and it goes on as before: the flood still replaces only its own; the whole bound (8) pushes out a1
    for (let i = 80; i < 90; i += 1) after.add(entry('x'), Buffer.from(`x${i}`));
    after.add(entry('d'), Buffer.from('d1'));
    after.add(entry('e'), Buffer.from('e1'));
    expect(payloadsOf(after)).toEqual(['e1', 'd1', 'x89', 'x88', 'x87', 'a2', 'c1', 'b1']);
    expect(rowsOf(second)).toEqual(payloadsOf(after).reverse());
    second.close();
  });

  it('restarted with a smaller share: each device keeps its newest, and what was pushed out stays forgotten', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-store-'));
    const first = open(dir);
    const before = createQuarantine({ size: 10, perDevice: 4 }, createSqliteQuarantineKeep(first));
    for (const [device, payload] of [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['b', 'b2'],
      ['c', 'c1'],
    ] as const)
      before.add(entry(device), Buffer.from(payload));
    first.close();

    const second = open(dir);
    expect(payloadsOf(createQuarantine({ size: 10, perDevice: 1 }, createSqliteQuarantineKeep(second)))).toEqual(['c1', 'b2', 'a3']);
    expect(rowsOf(second)).toEqual(['a3', 'b2', 'c1']);
    second.close();
    const third = open(dir);
    expect(payloadsOf(createQuarantine({ size: 10, perDevice: 4 }, createSqliteQuarantineKeep(third)))).toEqual(['c1', 'b2', 'a3']);
    third.close();
  });

  it('a store that cannot write for a while (disk full): entries still shown, the failure told, and once it writes again it holds no more than the quarantine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-store-'));
    const db = open(dir);
    const real = createSqliteQuarantineKeep(db);
    let full = false;
    const refuse = () => {
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    const keep = { ...real, add: (...args: Parameters<typeof real.add>) => (full ? refuse() : real.add(...args)) };
    const told: string[] = [];
    const quarantine = createQuarantine({ size: 3, perDevice: 3 }, keep, (error, failed) =>
      told.push(`${failed.device}: ${(error as Error).message}`),
    );
    for (const device of ['a', 'b', 'c']) quarantine.add(entry(device), Buffer.from(`payload of ${device}`));
    full = true;
    for (const device of ['d', 'e']) quarantine.add(entry(device), Buffer.from(`payload of ${device}`));
    expect(payloadsOf(quarantine)).toEqual(['payload of e', 'payload of d', 'payload of c']);
    expect(told).toEqual(['d: SQLITE_FULL: database or disk is full', 'e: SQLITE_FULL: database or disk is full']);
    // a, pushed out by d, is forgotten when e is tried (deleting still works); b, pushed out by e, waits
    expect(rowsOf(db)).toEqual(['payload of b', 'payload of c']);
    full = false;
    quarantine.add(entry('f'), Buffer.from('payload of f'));
    expect(payloadsOf(quarantine)).toEqual(['payload of f', 'payload of e', 'payload of d']);
    // b and c are forgotten with the next write; d and e were never stored
    expect(rowsOf(db)).toEqual(['payload of f']);
    db.close();
    const again = open(dir);
    expect(payloadsOf(createQuarantine({ size: 3, perDevice: 3 }, createSqliteQuarantineKeep(again)))).toEqual(['payload of f']);
    again.close();
  });
});
