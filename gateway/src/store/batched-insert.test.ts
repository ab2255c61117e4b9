import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createBatchedInsert } from './batched-insert.js';
import { createWriteBuffer } from './write-buffer.js';

describe('many rows to a statement', () => {
  it('writes every row collected in a commit, in order, across statements of 32 rows and the rest', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a INTEGER, b TEXT)');
    const insert = createBatchedInsert(db, 'INSERT INTO t (a, b)', 2);
    const later = createWriteBuffer();
    for (const count of [1, 31, 32, 33, 70]) {
      db.exec('DELETE FROM t');
      later.collecting(() => {
        for (let i = 0; i < count; i += 1) later.addRow(insert, [i, `row ${i}`]);
      });
      db.transaction(() => later.apply())();
      expect(db.prepare('SELECT a, b FROM t ORDER BY id').raw(true).all()).toEqual(
        Array.from({ length: count }, (_, i) => [i, `row ${i}`]),
      );
    }
    // outside a commit each row is written at once
    later.addRow(insert, [-1, 'at once']);
    expect(db.prepare('SELECT b FROM t ORDER BY id DESC LIMIT 1').pluck().get()).toBe('at once');
    expect(() => insert.write([1, 'two', 3])).toThrow('3 values do not make rows of 2');
  });
});
