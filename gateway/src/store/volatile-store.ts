import Database from 'better-sqlite3';
import { migrate } from './migrations.js';
import type { StoreDatabase } from './open-store.js';

/**
 * A store in memory with the same schema, for what must work with `store.enabled: false` (users, sessions,
 * tokens, the audit log): the same adapters, forgotten at exit.
 */
export function openVolatileStore(): StoreDatabase {
  const db = new Database(':memory:');
  migrate(db);
  return db;
}
