import type { FastifyRequest } from 'fastify';
import type { AuditAction, AuditLog } from '../audit/audit-log.js';

export interface AuditedAction {
  action: AuditAction;
  target?: string | null;
  /** `ok`, or the error code it was refused with. */
  outcome?: string;
  note?: string | null;
  by?: string | null;
  detail?: Record<string, unknown> | null;
  /** Who, when nobody is authenticated (a failed login: the name tried). */
  actor?: string;
}

/** Records an action of a request in the audit log: the authenticated caller, the source address, and what was done. */
export type AuditRecorder = (request: FastifyRequest, action: AuditedAction) => void;

export function createAuditRecorder(log: AuditLog): AuditRecorder {
  return (request, a) => {
    const caller = request.caller;
    log.record({
      actor: caller?.name ?? a.actor ?? '',
      actorKind: caller?.kind ?? 'anonymous',
      action: a.action,
      target: a.target ?? null,
      outcome: a.outcome ?? 'ok',
      note: a.note ?? null,
      by: a.by !== undefined && a.by !== null && a.by !== caller?.name ? a.by : null,
      address: request.ip ?? null,
      // a user's personal token, named: after a leak, what it did is told from what its user did in a session
      detail: caller?.tokenId ? { ...a.detail, token: caller.tokenId } : (a.detail ?? null),
    });
  };
}
