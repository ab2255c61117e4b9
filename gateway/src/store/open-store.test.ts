import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from './migrations.js';
import { openStore, STORE_FILE } from './open-store.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'open-store-'));

describe('opening the local store', () => {
  it('creates the schema once; several connections to one new file agree on it', () => {
    const dir = fresh();
    const connections = [1, 2, 3].map(() => openStore({ dataDir: dir, synchronous: 'normal' }));
    for (const db of connections) expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(connections[0]?.pragma('journal_mode', { simple: true })).toBe('wal');
    for (const db of connections) db.close();
  });

  it('refuses a store written by a newer gateway, a file that is not a database, and a data directory it cannot create', () => {
    const newer = fresh();
    const db = new Database(join(newer, STORE_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openStore({ dataDir: newer, synchronous: 'normal' })).toThrow(/written by a newer gateway/);

    const garbage = fresh();
    writeFileSync(join(garbage, STORE_FILE), 'not a database, just text '.repeat(100));
    expect(() => openStore({ dataDir: garbage, synchronous: 'normal' })).toThrow(/cannot be opened/);

    const blocked = join(fresh(), 'a-file');
    writeFileSync(blocked, 'a file where the data directory should be');
    expect(() => openStore({ dataDir: join(blocked, 'data'), synchronous: 'normal' })).toThrow(
      expect.objectContaining({ code: 'store_unavailable', message: expect.stringMatching(/data directory .* is not usable/) }),
    );
  });
});
