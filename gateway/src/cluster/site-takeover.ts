import type { AlarmBook } from '../../../rules/src/index.js';
import { retellAcknowledgements } from '../lane/retell-acknowledgements.js';
import type { TelemetryLane } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterNode } from './cluster-node.js';
import type { SiteReplica } from './site-replica.js';

export interface SiteTakeoverDeps {
  cluster: Pick<ClusterNode, 'owns'>;
  /** The sites of the registry. */
  sites(): Iterable<string>;
  replica: Pick<SiteReplica, 'take'>;
  lane: Pick<TelemetryLane, 'ownSites' | 'acknowledged'>;
  book: Pick<AlarmBook, 'forgetSites' | 'adopt'>;
  now(): number;
  /** How often what this node owns is compared with what it judges (a take that failed is retried then). */
  checkEvery: number;
  /** A site taken by another node (a fenced write) is not taken back before this long. */
  backoff: number;
  log: Logger;
}

/**
 * Which sites this node judges: those it owns whose state it has taken over from the shared store. A site it gains
 * is taken (fencing the last owner out) and its open alarms and rule state adopted before its first reading is
 * judged here; a site it loses leaves the lane, then the alarm book once the lane has let go of it (the alarm changes
 * of readings it judged before go on the site's alarms, and are written with them while this node still holds the
 * site's fence); a site whose write was fenced leaves both at once (nothing of it is written here any more).
 */
export interface SiteTakeover {
  /** Whether this node judges the site now (it owns it and has its state). */
  judges(site: string): boolean;
  /** Brings what this node judges in line with what it owns; call when ownership changed. */
  reconcile(): void;
  /** A write of the site was fenced: another node took it. */
  fenced(site: string): void;
  /**
   * A write of the site went through. If this node no longer judges it and the lane has let go of it (a change that
   * landed after all), what that left in the alarm book is the next owner's to show: it leaves this book.
   */
  written(site: string): void;
  close(): void;
}

export function createSiteTakeover(deps: SiteTakeoverDeps): SiteTakeover {
  const judged = new Set<string>();
  const fencedAt = new Map<string, number>();
  /**
   * Sites let go of whose alarms stay in the book until the lane judges none of their readings, each with the step
   * that let it go. Forgotten before, an alarm change the lane sent meanwhile found no alarm of its key: it opened a
   * second one, written and delivered while this node still held the fence (the Redis restart test, 1 run in 4).
   */
  const releasing = new Map<string, number>();
  let steps = 0;
  /** The lane judges by what this step told it: the sites it let go of leave the book, unless taken back meanwhile. */
  const released = (sites: readonly string[], step: number): void => {
    const gone = sites.filter((site) => releasing.get(site) === step && !judged.has(site));
    for (const site of gone) releasing.delete(site);
    if (gone.length > 0) deps.book.forgetSites(gone);
  };
  let running = false;
  let again = false;

  const step = async (): Promise<void> => {
    const now = deps.now();
    const wanted = new Set<string>();
    for (const site of deps.sites()) {
      const since = fencedAt.get(site);
      if (since !== undefined && now - since < deps.backoff) continue;
      if (deps.cluster.owns(site)) wanted.add(site);
    }
    const lost = [...judged].filter((site) => !wanted.has(site));
    const gained = [...wanted].filter((site) => !judged.has(site));
    if (lost.length === 0 && gained.length === 0) return;
    const step = ++steps;
    for (const site of lost) {
      judged.delete(site);
      releasing.set(site, step);
    }
    let taken: Awaited<ReturnType<SiteReplica['take']>> = [];
    try {
      if (gained.length > 0) taken = await deps.replica.take(gained);
    } catch (error) {
      deps.log.warn({ err: error, sites: gained.length }, 'site takeover failed');
    }
    deps.book.forgetSites(taken.map((site) => site.site));
    for (const site of taken) {
      deps.book.adopt(site.alarms);
      judged.add(site.site);
      releasing.delete(site.site);
      fencedAt.delete(site.site);
    }
    const applied = deps.lane.ownSites(
      [...judged],
      deps.now(),
      taken.map(({ alarms: _, ...handover }) => handover),
    );
    // after the sites' rule state it was handed: the last owner may have died between an acknowledgement and its lane
    for (const site of taken) retellAcknowledgements(deps.lane, site.alarms.alarms, deps.now());
    if (lost.length > 0) void applied.then(() => released(lost, step));
  };

  const reconcile = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    void step()
      .catch((error: Error) => deps.log.error({ err: error }, 'site takeover failed'))
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          reconcile();
        }
      });
  };

  const timer = setInterval(reconcile, deps.checkEvery);
  timer.unref();

  return {
    judges: (site) => judged.has(site),
    reconcile,
    fenced(site) {
      // always: alarm changes of readings judged before the site was lost may land in the book after it was let go
      deps.book.forgetSites([site]);
      releasing.delete(site);
      if (!judged.delete(site)) return;
      fencedAt.set(site, deps.now());
      void deps.lane.ownSites([...judged], deps.now());
    },
    written(site) {
      if (!judged.has(site) && !releasing.has(site)) deps.book.forgetSites([site]);
    },
    close() {
      clearInterval(timer);
    },
  };
}
