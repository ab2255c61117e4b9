import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fatalFailureOf, GatewayError } from './errors.js';

describe('what ends a part of the gateway, as reported', () => {
  it('is store_unavailable when SQLite refused a write, with its reason', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x INTEGER NOT NULL)');
    let refused: unknown;
    try {
      db.prepare('INSERT INTO t (x) VALUES (NULL)').run();
    } catch (error) {
      refused = error;
    }
    const failure = fatalFailureOf(refused, 'the telemetry lane');
    expect(failure.code).toBe('store_unavailable');
    expect(failure.message).toMatch(/^the local store cannot write: NOT NULL constraint failed/);
  });

  it('is internal for a fault in the lane itself, and keeps a GatewayError as it is', () => {
    const failure = fatalFailureOf(new TypeError("Cannot read properties of undefined (reading 'level')"), 'the telemetry lane');
    expect(failure.code).toBe('internal');
    expect(failure.message).toBe("the telemetry lane failed: Cannot read properties of undefined (reading 'level')");
    const own = new GatewayError('store_unavailable', 'data directory /x is not usable');
    expect(fatalFailureOf(own, 'the telemetry lane')).toBe(own);
    expect(fatalFailureOf('thrown text', "the gateway's timers").message).toBe("the gateway's timers failed: thrown text");
  });
});
