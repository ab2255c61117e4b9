import type { Shelf } from '../../../rules/src/index.js';
import {
  performShelfAction,
  type ShelfAction,
  type ShelfDesk,
  type ShelfOutcome,
  type ShelfService,
  SITE_OWNER_UNAVAILABLE,
} from '../alarms/shelf-service.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import { durably, type TakenHere } from './alarm-actions.js';
import type { AlarmMirror, AlarmView } from './alarm-mirror.js';
import type { ClusterNode } from './cluster-node.js';
import type { ReadingForwarder } from './reading-forwarder.js';

/** What tells a shelving action's site: the alarms and shelves shown, and the registry's devices. */
export interface ShelfSites {
  alarms: Pick<AlarmView, 'get'>;
  shelf(id: string): Shelf | undefined;
  registry: Pick<DeviceRegistry, 'get' | 'all'>;
}

/**
 * The site whose owner takes the action: the alarm's, the window's (a device's site, from the registry), the
 * shelf's. Undefined when there is none to find (no such alarm, device, site or shelf): the action is taken here
 * and refused with the code a single node gives.
 */
export function siteOfShelfAction(sites: ShelfSites, action: ShelfAction): string | undefined {
  switch (action.kind) {
    case 'shelveAlarm':
    case 'unshelveAlarm':
      return sites.alarms.get(action.alarmId)?.site;
    case 'declareWindow': {
      const { where } = action;
      if (where.scope === 'device') return where.device === undefined ? undefined : sites.registry.get(where.device)?.site;
      const site = where.site;
      return site !== undefined && [...sites.registry.all()].some((device) => device.site === site) ? site : undefined;
    }
    case 'endShelf':
      return sites.shelf(action.id)?.site;
  }
}

const newestFirst = (a: Shelf, b: Shelf): number =>
  a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;

/** Not yet in the shared store (Redis away): the action stands on the node that judges the site, written later. */
const NOT_SHARED_YET: ShelfOutcome = {
  ok: false,
  code: 'cluster_unavailable',
  message: 'taken by the node that judges the site, but not yet in the shared store (Redis away): see GET /api/shelves before trying again',
};

/** Takes an action here, answered once what it changed of a shared site is in the shared store. */
const takeHere = (local: ShelfService, here: TakenHere, site: string | undefined, action: ShelfAction): Promise<ShelfOutcome> =>
  durably(here, site, () => performShelfAction(local, action), NOT_SHARED_YET);

/**
 * Shelving on any node of a cluster: an action is taken on the node that judges its site — here (answered once it is
 * in the shared store), or sent there and its outcome returned (`cluster_unavailable` when it does not answer in
 * time, or at once when the site has no owner yet) — so that a maintenance window holds where the site's alarms are
 * raised, and goes with the site to its next owner (site-replica.ts). The gateway's own alarms (no site of the
 * registry) are each node's, shelved where they are. What is on is every node's: this node's book for the sites it
 * judges, the mirror of the others' writes for the rest.
 */
export function shelvesAnywhere(deps: {
  local: ShelfService;
  alarms: Pick<AlarmView, 'get'>;
  mirror: Pick<AlarmMirror, 'shelves'>;
  registry: Pick<DeviceRegistry, 'get' | 'all'>;
  here: TakenHere;
  cluster: Pick<ClusterNode, 'ownerOf'>;
  forwarder: Pick<ReadingForwarder, 'forwardShelfAction'>;
}): ShelfDesk {
  const get = (id: string): Shelf | undefined => {
    const here = deps.local.get(id);
    if (here) return here;
    for (const shelf of deps.mirror.shelves()) if (shelf.id === id) return structuredClone(shelf);
    return undefined;
  };
  const sites: ShelfSites = { alarms: deps.alarms, shelf: get, registry: deps.registry };
  return {
    async act(action) {
      const site = siteOfShelfAction(sites, action);
      if (site === undefined || !deps.here.shared(site) || deps.here.judges(site)) return takeHere(deps.local, deps.here, site, action);
      const owner = deps.cluster.ownerOf(site);
      if (owner === null) return SITE_OWNER_UNAVAILABLE;
      return deps.forwarder.forwardShelfAction(owner, action);
    },
    list(all) {
      const merged = new Map<string, Shelf>();
      for (const shelf of deps.mirror.shelves()) merged.set(shelf.id, shelf);
      // this node's own are the freshest of the sites it judges (one it ended may be on still in the mirror)
      for (const shelf of deps.local.list(true)) merged.set(shelf.id, shelf);
      return [...merged.values()]
        .filter((shelf) => all || shelf.endedAt === null)
        .sort(newestFirst)
        .map((shelf) => structuredClone(shelf));
    },
    get,
  };
}

/**
 * A shelving action another node sent here: taken if this node still judges its site (else the operator tries
 * again), answered once it is in the shared store.
 */
export function shelfActionForwarded(
  local: ShelfService,
  sites: ShelfSites,
  here: TakenHere,
): (action: ShelfAction) => Promise<ShelfOutcome> {
  return async (action) => {
    const site = siteOfShelfAction(sites, action);
    if (site !== undefined && here.shared(site) && !here.judges(site)) return SITE_OWNER_UNAVAILABLE;
    return takeHere(local, here, site, action);
  };
}
