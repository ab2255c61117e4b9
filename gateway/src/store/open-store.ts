import { accessSync, constants, mkdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { GatewayError } from '../errors.js';
import { migrate } from './migrations.js';

/** The local store: one SQLite file in the data directory, in WAL mode, opened by each thread that needs it. */
export type StoreDatabase = Database.Database;

export interface StoreSettings {
  dataDir: string;
  /**
   * `normal`: a commit survives a crash of the process (kill -9, OOM) but not of the machine;
   * `full`: also a power cut, at the cost of an fsync per commit.
   */
  synchronous: 'normal' | 'full';
  /** The most the file may grow to (bytes); past it a commit fails with "database or disk is full". None: the disk. */
  maxBytes?: number | undefined;
}

export const STORE_FILE = 'gateway.db';

/**
 * Opens (and creates or upgrades) the store. An unusable data directory — missing and not creatable,
 * read-only, full, or holding something that is not the gateway's database — is a clear start-up error
 * (`store_unavailable`, naming the directory and the reason): opening ends with a commit that must reach the
 * disk, so a store that can be read but not written fails here, not at the first reading it would acknowledge.
 */
export function openStore(settings: StoreSettings): StoreDatabase {
  const file = join(settings.dataDir, STORE_FILE);
  try {
    mkdirSync(settings.dataDir, { recursive: true });
    accessSync(settings.dataDir, constants.W_OK);
  } catch (error) {
    throw new GatewayError(
      'store_unavailable',
      `data directory ${settings.dataDir} is not usable: ${(error as Error).message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  let db: StoreDatabase | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // Two threads write the same file (the telemetry lane and the broker side): wait for the other's commit.
    db.pragma('busy_timeout = 5000');
    if (settings.maxBytes !== undefined) {
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.pragma(`max_page_count = ${Math.max(16, Math.floor(settings.maxBytes / pageSize))}`);
    }
    // The spool sends rows of several points as their stored bytes (spool-queue.ts): they must be UTF-8, as SQLite
    // makes a new file; only a file made by hand with another encoding is not.
    const encoding = db.pragma('encoding', { simple: true }) as string;
    if (encoding !== 'UTF-8') throw new Error(`its text encoding is ${encoding}; the gateway's store is UTF-8`);
    migrate(db);
  } catch (error) {
    db?.close();
    throw new GatewayError(
      'store_unavailable',
      `the store ${file} cannot be opened: ${reason(error)}${fullDiskNote(settings.dataDir)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  try {
    probeWrite(db);
    return db;
  } catch (error) {
    db.close();
    throw new GatewayError(
      'store_unavailable',
      `the store ${file} cannot be written (data directory ${settings.dataDir}): ${reason(error)}${fullDiskNote(settings.dataDir)}`,
      undefined,
      { cause: error },
    );
  }
}

/**
 * A commit that changes nothing but still goes to the disk: writing `user_version` as it is dirties the header
 * page, so the commit appends a frame to the WAL (creating it and its `-shm` when absent). A read-only file or
 * directory fails it with SQLITE_READONLY, a full disk with SQLITE_FULL (or an I/O error for the `-shm`).
 */
function probeWrite(db: StoreDatabase): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  db.pragma(`user_version = ${version}`);
}

/** SQLite's message with its extended code (`database or disk is full (SQLITE_FULL)`), or the OS error's. */
function reason(error: unknown): string {
  const { message, code } = error as { message?: string; code?: unknown };
  return typeof code === 'string' && !message?.includes(code) ? `${message} (${code})` : String(message ?? error);
}

/**
 * The OS reason SQLite's message may hide: on a full disk the `-shm` index fails as "disk I/O error
 * (SQLITE_IOERR_SHMSIZE)". Says so when the data directory's file system has less than 1 MiB left.
 */
function fullDiskNote(dataDir: string): string {
  try {
    const fs = statfsSync(dataDir);
    const free = fs.bavail * fs.bsize;
    return free < 1 << 20 ? `; the file system of ${dataDir} is full (no space left: ${free} bytes free)` : '';
  } catch {
    return '';
  }
}

/**
 * What the store takes on disk (bytes): its file and its write-ahead log (`-wal`), which holds the newest
 * commits until a checkpoint copies them into the file. The `-shm` index (32 KiB a few) is not counted.
 */
export function storeSizeBytes(db: StoreDatabase): number {
  let total = 0;
  for (const path of [db.name, `${db.name}-wal`]) total += statSync(path, { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

/** Of `store.maxBytes`, the share the spool leaves to everything else (the alarm book, audit, a second's readings). */
const STORE_MARGIN = 0.1;

/**
 * How many bytes the store may still take before it reaches its bound (`store.maxBytes` less a tenth) or leaves less
 * than `diskReserve` free on its disk, whichever comes first; negative: past it by that much. Pages freed inside the
 * file count as room (SQLite reuses them before it grows the file). The spool drops its oldest telemetry to keep this
 * at zero or more (spool-queue.ts), so a long InfluxDB outage cannot fill the store and stop the gateway.
 */
export function storeRoom(db: StoreDatabase, settings: { maxBytes?: number | undefined; diskReserve: number }): () => number {
  const dataDir = dirname(db.name);
  const pages = (name: 'page_count' | 'freelist_count' | 'max_page_count' | 'page_size'): number =>
    db.pragma(name, { simple: true }) as number;
  const pageSize = pages('page_size');
  return () => {
    const free = pages('freelist_count') * pageSize;
    let disk: number;
    try {
      const fs = statfsSync(dataDir);
      disk = fs.bavail * fs.bsize - settings.diskReserve + free;
    } catch {
      disk = Number.POSITIVE_INFINITY;
    }
    if (settings.maxBytes === undefined) return disk;
    const store = (pages('max_page_count') - pages('page_count')) * pageSize + free - settings.maxBytes * STORE_MARGIN;
    return Math.min(disk, store);
  };
}
