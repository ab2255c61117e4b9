import type { AuditAction, AuditEntry, AuditLog } from '../audit/audit-log.js';
import type { StoreDatabase } from './open-store.js';

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  actor_kind: AuditEntry['actorKind'];
  action: AuditAction;
  target: string | null;
  outcome: string;
  note: string | null;
  by: string | null;
  address: string | null;
  detail: string | null;
}

const entry = (row: AuditRow): AuditEntry => ({
  id: row.id,
  at: new Date(row.at).toISOString(),
  actor: row.actor,
  actorKind: row.actor_kind,
  action: row.action,
  target: row.target,
  outcome: row.outcome,
  note: row.note,
  by: row.by,
  address: row.address,
  detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
});

/** The audit log in the local store (migration 7): appended, read newest first with filters. */
export function createSqliteAuditLog(db: StoreDatabase, now: () => number): AuditLog {
  const insert = db.prepare(
    `INSERT INTO audit (at, actor, actor_kind, action, target, outcome, note, by, address, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const select = db.prepare(
    `SELECT * FROM audit
     WHERE (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action) AND (@target IS NULL OR target = @target)
       AND (@from IS NULL OR at >= @from) AND (@to IS NULL OR at < @to) AND (@before IS NULL OR id < @before)
     ORDER BY id DESC LIMIT @limit`,
  );
  const prune = db.prepare('DELETE FROM audit WHERE at < ?');
  return {
    prune: (before) => prune.run(before).changes,
    record(e) {
      const row = insert.get(
        e.at ?? now(),
        e.actor,
        e.actorKind,
        e.action,
        e.target,
        e.outcome,
        e.note,
        e.by,
        e.address,
        e.detail === null ? null : JSON.stringify(e.detail),
      ) as AuditRow;
      return entry(row);
    },
    query: (filter) =>
      (
        select.all({
          actor: filter.actor ?? null,
          action: filter.action ?? null,
          target: filter.target ?? null,
          from: filter.from ?? null,
          to: filter.to ?? null,
          before: filter.before ?? null,
          limit: filter.limit,
        }) as AuditRow[]
      ).map(entry),
  };
}
