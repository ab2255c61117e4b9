import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
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
 * read-only, full, or holding something that is not the gateway's database — is a clear start-up error.
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
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    throw new GatewayError('store_unavailable', `the store ${file} cannot be opened: ${(error as Error).message}`, undefined, {
      cause: error,
    });
  }
}
