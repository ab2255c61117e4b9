import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from './migrations.js';
import { openStore, STORE_FILE, type StoreSettings, storeRoom, storeSizeBytes } from './open-store.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'open-store-'));

describe('opening the local store', () => {
  it('creates the schema once; several connections to one new file agree on it', () => {
    const dir = fresh();
    const connections = [1, 2, 3].map(() => openStore({ dataDir: dir, synchronous: 'normal' }));
    for (const db of connections) expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(connections[0]?.pragma('journal_mode', { simple: true })).toBe('wal');
    for (const db of connections) db.close();
  });

  it('refuses a store written by a newer gateway, one whose text is not UTF-8, a file that is not a database, and a data directory it cannot create', () => {
    const newer = fresh();
    const db = new Database(join(newer, STORE_FILE));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openStore({ dataDir: newer, synchronous: 'normal' })).toThrow(/written by a newer gateway/);

    const utf16 = fresh();
    const other = new Database(join(utf16, STORE_FILE));
    other.pragma("encoding = 'UTF-16le'");
    other.exec('CREATE TABLE made_by_hand (x)');
    other.close();
    expect(() => openStore({ dataDir: utf16, synchronous: 'normal' })).toThrow(
      expect.objectContaining({
        code: 'store_unavailable',
        message: expect.stringMatching(/cannot be opened: its text encoding is UTF-16le/),
      }),
    );

    const garbage = fresh();
    writeFileSync(join(garbage, STORE_FILE), 'not a database, just text '.repeat(100));
    expect(() => openStore({ dataDir: garbage, synchronous: 'normal' })).toThrow(/cannot be opened/);

    const blocked = join(fresh(), 'a-file');
    writeFileSync(blocked, 'a file where the data directory should be');
    expect(() => openStore({ dataDir: join(blocked, 'data'), synchronous: 'normal' })).toThrow(
      expect.objectContaining({ code: 'store_unavailable', message: expect.stringMatching(/data directory .* is not usable/) }),
    );
  });

  it('refuses a store it can read but not write (a read-only gateway.db): the probe commit fails at open, naming the directory', () => {
    const dir = fresh();
    openStore({ dataDir: dir, synchronous: 'normal' }).close();
    chmodSync(join(dir, STORE_FILE), 0o444);
    const failure = openAsUnprivileged({ dataDir: dir, synchronous: 'normal' });
    expect(failure).toMatchObject({ code: 'store_unavailable' });
    expect(failure.message).toContain(`data directory ${dir}`);
    expect(failure.message).toMatch(/cannot be written .*readonly database \(SQLITE_READONLY/);
  });

  it('measures the store on disk: the file and its write-ahead log', () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    const onDisk = (): number => statSync(join(dir, STORE_FILE)).size + statSync(join(dir, `${STORE_FILE}-wal`)).size;
    expect(storeSizeBytes(db)).toBe(onDisk());
    const before = storeSizeBytes(db);
    const insert = db.prepare('INSERT INTO spool (kind, at, line) VALUES (1, 0, ?)');
    db.transaction(() => {
      for (let i = 0; i < 1_000; i += 1) insert.run(`telemetry,device=d${i} value=${i} ${i}`.padEnd(200, ' '));
    })();
    // the commit is in the WAL, not yet in the file: the WAL is what grew
    expect(storeSizeBytes(db)).toBeGreaterThan(before + 200_000);
    expect(storeSizeBytes(db)).toBe(onDisk());
    db.close(); // the last connection checkpoints into the file and removes the WAL
    expect(existsSync(join(dir, `${STORE_FILE}-wal`))).toBe(false);
    const reopened = new Database(join(dir, STORE_FILE), { readonly: true });
    expect(storeSizeBytes(reopened)).toBe(statSync(join(dir, STORE_FILE)).size);
    expect(storeSizeBytes(reopened)).toBeGreaterThan(200_000);
    reopened.close();
  });

  it("measures the room left before store.maxBytes (less a tenth), counting pages freed inside the file, and before the disk's reserve", () => {
    const dir = fresh();
    const db = openStore({ dataDir: dir, synchronous: 'normal', maxBytes: 2_000_000 });
    const room = storeRoom(db, { maxBytes: 2_000_000, diskReserve: 0 });
    const empty = room();
    // the bound less a tenth, less what the schema takes
    expect(empty).toBeLessThan(1_800_000);
    expect(empty).toBeGreaterThan(1_500_000);
    const insert = db.prepare('INSERT INTO spool (kind, at, line) VALUES (1, 0, ?)');
    db.transaction(() => {
      for (let i = 0; i < 1_000; i += 1) insert.run(`telemetry,device=d${i} value=${i} ${i}`.padEnd(1_000, ' '));
    })();
    expect(empty - room()).toBeGreaterThan(1_000_000);
    expect(empty - room()).toBeLessThan(1_200_000);
    // rows deleted leave their pages free in the file: room again, though the file did not shrink
    db.prepare('DELETE FROM spool').run();
    expect(Math.abs(room() - empty)).toBeLessThan(50_000);
    // the disk: its free bytes less the reserve, negative once the reserve asks for more than is free
    const { bavail, bsize } = statfsSync(dir);
    const reserveAll = storeRoom(db, { diskReserve: bavail * bsize + 1e9 });
    expect(reserveAll()).toBeLessThan(-0.9e9);
    expect(storeRoom(db, { diskReserve: 0 })()).toBeGreaterThan(0.5 * bavail * bsize);
    db.close();
  });
});

/**
 * `openStore(settings)` as a user file modes bind: in this process when it is not root; as root (which ignores
 * them) in a child running as `nobody` (65534). Returns what it threw.
 */
function openAsUnprivileged(settings: StoreSettings): { code?: string; message: string } {
  if (process.getuid?.() !== 0) {
    try {
      openStore(settings).close();
    } catch (error) {
      return error as { code?: string; message: string };
    }
    throw new Error('openStore succeeded');
  }
  chmodSync(settings.dataDir, 0o777); // nobody may create the -wal and -shm beside the read-only file
  const script = join(mkdtempSync(join(tmpdir(), 'open-store-child-')), 'open.mts');
  chmodSync(join(script, '..'), 0o755);
  const moduleUrl = pathToFileURL(resolve('gateway/src/store/open-store.ts')).href;
  writeFileSync(
    script,
    `import { openStore } from ${JSON.stringify(moduleUrl)};
try { openStore(${JSON.stringify(settings)}).close(); console.log(JSON.stringify({ message: 'openStore succeeded' })); }
catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }
`,
  );
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', uid: 65534, gid: 65534, timeout: 30_000 });
  if (child.status !== 0) throw new Error(`the child as nobody failed (${child.status}): ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
}
