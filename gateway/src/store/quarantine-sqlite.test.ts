import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createQuarantine } from '../ingest/quarantine.js';
import { openStore } from './open-store.js';
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

describe('the quarantine in the local store', () => {
  it('a restart finds the newest refused payloads, newest first, and the bound still holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-store-'));
    const first = openStore({ dataDir: dir, synchronous: 'normal' });
    const before = createQuarantine(3, createSqliteQuarantineKeep(first));
    for (const device of ['a', 'b', 'c', 'd', 'e']) before.add(entry(device), Buffer.from(`payload of ${device}`));
    first.close();

    const second = openStore({ dataDir: dir, synchronous: 'normal' });
    const after = createQuarantine(3, createSqliteQuarantineKeep(second));
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
      createQuarantine(2, createSqliteQuarantineKeep(third))
        .list({})
        .map((e) => e.device),
    ).toEqual(['f', 'e']);
    third.close();
  });
});
