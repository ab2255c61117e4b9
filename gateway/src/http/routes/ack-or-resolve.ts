import type { FastifyRequest } from 'fastify';
import type { Disposal } from '../../../../rules/src/index.js';
import type { ActOnAlarm, AlarmActionOutcome } from '../../alarms/alarm-action.js';
import type { AuditRecorder } from '../audit-request.js';

/** What an acknowledgement or a resolution carries (the route's body). */
export interface AckOrResolveFields {
  by: string;
  note?: string | undefined;
  disposal?: Disposal | undefined;
  /** The alarm's `occurrences` the caller saw. */
  occurrence?: number | undefined;
}

/**
 * Acknowledges or resolves one alarm for a request and records it in the audit log: a named user acts as themself
 * whatever `by` says (a differing `by` goes to the audit entry); a shared token acts as its `by`. Used by the routes
 * for one alarm and for many; `unavailable` as `ActOnAlarm` takes it.
 */
export async function ackOrResolve(
  deps: { act: ActOnAlarm; audit: AuditRecorder },
  request: FastifyRequest,
  action: 'ack' | 'resolve',
  id: string,
  fields: AckOrResolveFields,
  unavailable?: Set<string>,
): Promise<AlarmActionOutcome> {
  const by = request.caller?.kind === 'user' ? request.caller.name : fields.by;
  const note = fields.note ?? null;
  const seen = fields.occurrence === undefined ? {} : { occurrence: fields.occurrence };
  const result = await deps.act(
    action === 'ack' ? { kind: 'ack', id, by, note, ...seen } : { kind: 'resolve', id, by, note, disposal: fields.disposal, ...seen },
    unavailable,
  );
  deps.audit(request, {
    action: action === 'ack' ? 'alarm.ack' : 'alarm.resolve',
    target: id,
    outcome: result.ok ? 'ok' : result.error.code,
    note,
    by: fields.by,
    // the disposal record (cause, measures, responsible) is what the log of a resolve is for
    ...(action === 'resolve' && fields.disposal !== undefined ? { detail: { disposal: fields.disposal } } : {}),
  });
  return result;
}
