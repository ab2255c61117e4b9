import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteEngineState } from './engine-state-sqlite.js';
import { migrate } from './migrations.js';
import { openStore, STORE_FILE } from './open-store.js';

describe('the rule state in a store of an older gateway', () => {
  it('a store of schema 12 gives back its journal entries (a row each, readings as objects) and numbers on after them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'engine-state-'));
    const old = new Database(join(dir, STORE_FILE));
    migrate(old, 12);
    const reading = {
      site: 'site-a',
      device: 'dc-01',
      profile: 'dust-collector',
      ts: 5_000,
      receivedAt: 5_001,
      seq: 7,
      metrics: { hopper_temp: 85 },
    };
    const hold = { site: 'site-a', device: 'dc-01', since: 6_000, until: 7_000 };
    old.prepare('INSERT INTO engine_meta (name, value) VALUES (?, ?)').run('alive_at', '8000');
    old.prepare('INSERT INTO engine_device (key, state, journal_at) VALUES (?, ?, ?)').run('site-a/dc-01', '{}', 40);
    old.prepare('INSERT INTO engine_journal (id, entry) VALUES (?, ?)').run(41, JSON.stringify({ readings: [reading] }));
    old.prepare('INSERT INTO engine_journal (id, entry) VALUES (?, ?)').run(42, JSON.stringify({ held: [hold] }));
    old.close();

    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const state = createSqliteEngineState(db);
    const saved = state.load();
    expect(saved?.aliveAt).toBe(8_000);
    expect(saved?.journalAt.get('site-a/dc-01')).toBe(40);
    expect(saved?.journal).toEqual([
      { id: 41, entry: { readings: [reading] } },
      { id: 42, entry: { held: [hold] } },
    ]);
    expect(state.journal({ readings: [{ ...reading, seq: 8 }] }, 9_000)).toBe(43);
    const again = createSqliteEngineState(db).load();
    expect(again?.journal.map(({ id }) => id)).toEqual([41, 42, 43]);
    expect(again?.aliveAt).toBe(9_000);
    db.close();
  });
});
