import { describe, expect, it } from 'vitest';
import { createAuditRetention } from '../audit/audit-retention.js';
import { createSqliteAuditLog } from './audit-log-sqlite.js';
import { openVolatileStore } from './volatile-store.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');
const MINUTE = 60_000;

function filled() {
  const log = createSqliteAuditLog(openVolatileStore(), () => T0);
  const base = { actorKind: 'user', target: null, outcome: 'ok', note: null, by: null, address: null, detail: null } as const;
  log.record({ ...base, at: T0, actor: '王丽', action: 'session.login' });
  log.record({ ...base, at: T0 + MINUTE, actor: '王丽', action: 'alarm.ack', target: 'alm_1', note: '现场检查' });
  log.record({ ...base, at: T0 + 2 * MINUTE, actor: 'li', action: 'alarm.ack', target: 'alm_2', detail: { x: 1 } });
  log.record({ ...base, at: T0 + 3 * MINUTE, actor: '王丽', action: 'alarm.resolve', target: 'alm_1' });
  return log;
}

describe('audit log in the store', () => {
  it('reads newest first, filtered by actor, action, target and a time window, a page at a time', () => {
    const log = filled();
    const actions = (entries: { action: string; target: string | null }[]) => entries.map((e) => `${e.action}:${e.target}`);
    expect(actions(log.query({ limit: 10 }))).toEqual(['alarm.resolve:alm_1', 'alarm.ack:alm_2', 'alarm.ack:alm_1', 'session.login:null']);
    expect(actions(log.query({ actor: '王丽', action: 'alarm.ack', limit: 10 }))).toEqual(['alarm.ack:alm_1']);
    expect(actions(log.query({ target: 'alm_1', limit: 10 }))).toEqual(['alarm.resolve:alm_1', 'alarm.ack:alm_1']);
    expect(actions(log.query({ from: T0 + MINUTE, to: T0 + 3 * MINUTE, limit: 10 }))).toEqual(['alarm.ack:alm_2', 'alarm.ack:alm_1']);
    const [first, second] = log.query({ limit: 2 });
    expect(actions(log.query({ before: second!.id, limit: 10 }))).toEqual(['alarm.ack:alm_1', 'session.login:null']);
    expect(first!.id).toBeGreaterThan(second!.id);
    expect(log.query({ target: 'alm_2', limit: 1 })[0]).toMatchObject({ at: '2026-11-22T00:02:00.000Z', detail: { x: 1 }, note: null });
    expect(log.query({ target: 'alm_1', action: 'alarm.ack', limit: 1 })[0]?.note).toBe('现场检查');
  });

  it('forgets entries past the retention, checking at most once an hour', () => {
    const log = filled();
    const retention = createAuditRetention(log, 2 * MINUTE);
    expect(retention(T0 + 3 * MINUTE + 1)).toBe(2); // older than T0 + 1 min + 1 ms
    expect(log.query({ limit: 10 })).toHaveLength(2);
    expect(retention(T0 + 30 * MINUTE)).toBe(0); // within the hour: not checked again
    expect(log.query({ limit: 10 })).toHaveLength(2);
    expect(retention(T0 + 70 * MINUTE)).toBe(2);
  });
});
