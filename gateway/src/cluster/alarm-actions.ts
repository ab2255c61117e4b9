import { type AlarmAction, type AlarmActionOutcome, performAlarmAction } from '../alarms/alarm-action.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import type { AlarmView } from './alarm-mirror.js';
import type { ClusterNode } from './cluster-node.js';
import type { JudgesSite } from './owner-routing.js';
import type { ReadingForwarder } from './reading-forwarder.js';

const NO_OWNER: AlarmActionOutcome = { ok: false, error: { code: 'cluster_unavailable' } };

/**
 * A duty officer's action on any node of a cluster: taken here when this node judges the alarm's site, else sent to
 * the node that does (its outcome, or `cluster_unavailable`, comes back). `unavailable`: nodes that did not answer
 * earlier in the same request (acting on many alarms): their alarms get `cluster_unavailable` at once instead of
 * another wait of `forwardTimeout` each.
 */
export function actAnywhere(deps: {
  view: AlarmView;
  alarms: AlarmService;
  judges: JudgesSite;
  cluster: Pick<ClusterNode, 'ownerOf'>;
  forwarder: Pick<ReadingForwarder, 'forwardAction'>;
}): (action: AlarmAction, unavailable?: Set<string>) => Promise<AlarmActionOutcome> {
  return async (action, unavailable) => {
    const alarm = deps.view.get(action.id);
    if (!alarm || deps.judges(alarm.site)) return performAlarmAction(deps.alarms, action);
    const owner = deps.cluster.ownerOf(alarm.site);
    if (owner === null || unavailable?.has(owner)) return NO_OWNER;
    const outcome = await deps.forwarder.forwardAction(owner, action);
    if (!outcome.ok && outcome.error.code === 'cluster_unavailable') unavailable?.add(owner);
    return outcome;
  };
}

/** An action another node sent here: taken if this node still judges the alarm's site (else the operator tries again). */
export function actForwarded(alarms: AlarmService, judges: JudgesSite): (action: AlarmAction) => AlarmActionOutcome {
  return (action) => {
    const alarm = alarms.book.get(action.id);
    if (alarm && !judges(alarm.site)) return NO_OWNER;
    return performAlarmAction(alarms, action);
  };
}
