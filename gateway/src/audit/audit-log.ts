import { z } from 'zod';

/** What the audit log records (the `action` of an entry). */
export const AUDIT_ACTIONS = [
  'alarm.ack',
  'alarm.resolve',
  'alarm.assign',
  'alarm.shelve',
  'alarm.unshelve',
  'shelf.create',
  'shelf.end',
  'webhook.replay',
  'webhook.enable',
  'rules.reload',
  'session.login',
  'session.login_failed',
  'session.logout',
  'user.create',
  'user.update',
  'user.delete',
  'token.create',
  'token.revoke',
  'gateway.start',
  /** A known caller refused for their role (403 `forbidden`): what they tried is in `detail`. */
  'access.forbidden',
] as const;
export const auditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof auditActionSchema>;

/** One entry: who (actor and how they were known), what (action, target, outcome), when, why (note). */
export const auditEntrySchema = z.object({
  id: z.number().int().positive().describe('increasing; the cursor of `before`'),
  at: z.string().describe('ISO 8601'),
  actor: z.string().describe('the user, the config token’s name, the name tried (failed login), or `system`'),
  actorKind: z
    .enum(['user', 'token', 'anonymous', 'system'])
    .describe('user: a named user (session or personal token); token: a shared token of api.tokens; anonymous: not authenticated'),
  action: auditActionSchema,
  target: z.string().nullable().describe('what it acted on: an alarm, dead letter, subscriber, user or token id'),
  outcome: z.string().describe('`ok`, or the error code the action was refused with'),
  note: z.string().nullable().describe('why, as the actor wrote it'),
  by: z.string().nullable().describe('the `by` of the request when it differs from the actor (a shared token’s duty officer)'),
  address: z.string().nullable().describe('the source address of the request'),
  detail: z.record(z.string(), z.unknown()).nullable().describe('more about the action (role changes, files reloaded, …)'),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'> & { at?: number };

export interface AuditFilter {
  actor?: string | undefined;
  action?: AuditAction | undefined;
  target?: string | undefined;
  /** ms since the epoch, inclusive. */
  from?: number | undefined;
  /** ms since the epoch, exclusive. */
  to?: number | undefined;
  /** Only entries older than this id (paging: the `nextBefore` of the page before). */
  before?: number | undefined;
  limit: number;
}

/** The audit log, newest first (gateway/src/store/audit-log-sqlite.ts). */
export interface AuditLog {
  record(entry: NewAuditEntry): AuditEntry;
  query(filter: AuditFilter): AuditEntry[];
  /** Removes entries older than `before` (ms); the number removed. */
  prune(before: number): number;
}
