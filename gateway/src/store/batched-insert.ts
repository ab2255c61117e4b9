import type { Statement } from 'better-sqlite3';
import type { StoreDatabase } from './open-store.js';

/** Rows a statement of a batched insert carries (at most 32 × columns parameters: SQLite allows 32,766). */
const ROWS_PER_STATEMENT = 32;

/**
 * An INSERT of many rows with few statements: each statement run costs the binding, the step and the answer
 * object whatever its size, so a commit of many readings writes them 32 rows to a statement.
 */
export interface BatchedInsert {
  /** Writes the rows whose values follow each other in `values` (column order, row after row). */
  write(values: readonly unknown[]): void;
}

/** `head`: the statement up to its VALUES (`INSERT INTO t (a, b)`); `columns`: how many it names. */
export function createBatchedInsert(db: StoreDatabase, head: string, columns: number): BatchedInsert {
  const row = `(${Array.from({ length: columns }, () => '?').join(', ')})`;
  const byRows = new Map<number, Statement>();
  const statement = (count: number): Statement => {
    let prepared = byRows.get(count);
    if (prepared === undefined) {
      prepared = db.prepare(`${head} VALUES ${Array.from({ length: count }, () => row).join(', ')}`);
      byRows.set(count, prepared);
    }
    return prepared;
  };
  const full = columns * ROWS_PER_STATEMENT;
  return {
    write(values) {
      if (values.length % columns !== 0) throw new Error(`${values.length} values do not make rows of ${columns}`);
      let at = 0;
      for (; at + full <= values.length; at += full) statement(ROWS_PER_STATEMENT).run(values.slice(at, at + full));
      // the rest in one statement of its size (at most 31 sizes are ever prepared)
      if (at < values.length) statement((values.length - at) / columns).run(at === 0 ? values : values.slice(at));
    },
  };
}
