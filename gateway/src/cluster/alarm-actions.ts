import { type AlarmAction, type AlarmActionOutcome, performAlarmAction } from '../alarms/alarm-action.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import type { AlarmView } from './alarm-mirror.js';
import type { ClusterNode } from './cluster-node.js';
import type { JudgesSite } from './owner-routing.js';
import type { ReadingForwarder } from './reading-forwarder.js';

const NO_OWNER: AlarmActionOutcome = { ok: false, error: { code: 'cluster_unavailable' } };

/** Where a cluster node takes an action itself: a site it judges, and the sites no node shares (the gateway's own). */
export interface TakenHere {
  judges: JudgesSite;
  /** Sites of the registry: shared, judged by one owner. Others (the gateway's own alarms) are each node's. */
  shared(site: string): boolean;
  /**
   * Resolves once what this node recorded of the site is in the shared store (false: not yet, Redis is away; or
   * void, the site was taken). An action taken here is answered after it, so that an answered action goes on with
   * its site to the next owner.
   */
  settled(site: string): Promise<boolean>;
}

/**
 * In `unavailable` (the nodes that did not answer within one request): the shared store did not take a write. The
 * request's later actions are taken here without waiting for it again (each wait can last Redis's command timeout).
 */
const SHARED_STORE = '\u0000the shared store';

/**
 * Runs an action taken here and answers once what it recorded of a shared site is in the shared store; not there
 * yet (Redis away): `unavailable`, the action stands here and is written once Redis is back. `skipWait`: a request's
 * set of what did not answer; once the store did not, the request's later actions do not wait for it.
 */
export async function durably<T extends { ok: boolean }>(
  here: TakenHere,
  site: string | undefined,
  take: () => T,
  unavailable: T,
  skipWait?: Set<string>,
): Promise<T> {
  const outcome = take();
  if (!outcome.ok || site === undefined || !here.shared(site)) return outcome;
  if (skipWait?.has(SHARED_STORE)) return unavailable;
  if (await here.settled(site)) return outcome;
  skipWait?.add(SHARED_STORE);
  return unavailable;
}

/**
 * A duty officer's action on any node of a cluster: taken here when this node judges the alarm's site (answered once
 * it is in the shared store), else sent to the node that does (its outcome, or `cluster_unavailable`, comes back).
 * `unavailable`: nodes that did not answer earlier in the same request (acting on many alarms): their alarms get
 * `cluster_unavailable` at once instead of another wait of `forwardTimeout` each.
 */
export function actAnywhere(deps: {
  view: AlarmView;
  alarms: AlarmService;
  here: TakenHere;
  cluster: Pick<ClusterNode, 'ownerOf'>;
  forwarder: Pick<ReadingForwarder, 'forwardAction'>;
}): (action: AlarmAction, unavailable?: Set<string>) => Promise<AlarmActionOutcome> {
  return async (action, unavailable) => {
    const alarm = deps.view.get(action.id);
    if (!alarm || !deps.here.shared(alarm.site) || deps.here.judges(alarm.site))
      return durably(deps.here, alarm?.site, () => performAlarmAction(deps.alarms, action), NO_OWNER, unavailable);
    const owner = deps.cluster.ownerOf(alarm.site);
    if (owner === null || unavailable?.has(owner)) return NO_OWNER;
    const outcome = await deps.forwarder.forwardAction(owner, action);
    if (!outcome.ok && outcome.error.code === 'cluster_unavailable') unavailable?.add(owner);
    return outcome;
  };
}

/**
 * An action another node sent here: taken if this node still judges the alarm's site (else the operator tries
 * again), answered once it is in the shared store. An alarm the cluster knows (`view`) whose site this node owns but
 * has not taken over yet is not in its book: `cluster_unavailable` (try again in a moment), not `alarm_not_found`.
 */
export function actForwarded(
  alarms: AlarmService,
  here: TakenHere,
  view?: Pick<AlarmView, 'get'>,
): (action: AlarmAction) => Promise<AlarmActionOutcome> {
  return async (action) => {
    const alarm = alarms.book.get(action.id) ?? view?.get(action.id);
    if (alarm && !here.judges(alarm.site)) return NO_OWNER;
    return durably(here, alarm?.site, () => performAlarmAction(alarms, action), NO_OWNER);
  };
}
