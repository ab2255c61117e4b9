import type { AlarmActionResult, Disposal } from '../../../rules/src/index.js';
import type { AlarmService } from './alarm-service.js';

/** A duty officer's action on one alarm, as plain data: taken here, or sent to the node that judges the alarm's site. */
export type AlarmAction =
  | { kind: 'ack'; id: string; by: string; note: string | null; occurrence?: number | undefined }
  | { kind: 'resolve'; id: string; by: string; note: string | null; disposal?: Disposal | undefined; occurrence?: number | undefined }
  | { kind: 'assign'; id: string; to: string; by: string; note: string | null };

/** An action's outcome; `cluster_unavailable`: the node that judges the alarm's site did not answer in time. */
export type AlarmActionOutcome = AlarmActionResult | { ok: false; error: { code: 'cluster_unavailable' } };

/**
 * Takes an action where its alarm is judged (here, or in a cluster on another node). `unavailable`: nodes that did not
 * answer earlier in the same request, to answer `cluster_unavailable` for at once (cluster/alarm-actions.ts).
 */
export type ActOnAlarm = (action: AlarmAction, unavailable?: Set<string>) => Promise<AlarmActionOutcome>;

/** Takes an action on this node's alarm book. */
export function performAlarmAction(alarms: AlarmService, action: AlarmAction): AlarmActionResult {
  switch (action.kind) {
    case 'ack':
      return alarms.acknowledge(action.id, action.by, action.note, action.occurrence);
    case 'resolve':
      return alarms.resolve(action.id, action.by, action.note, action.disposal, action.occurrence);
    case 'assign':
      return alarms.assign(action.id, action.to, action.by, action.note);
  }
}
