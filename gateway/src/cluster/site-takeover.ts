import type { AlarmBook } from '../../../rules/src/index.js';
import type { TelemetryLane } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterNode } from './cluster-node.js';
import type { SiteReplica } from './site-replica.js';

export interface SiteTakeoverDeps {
  cluster: Pick<ClusterNode, 'owns'>;
  /** The sites of the registry. */
  sites(): Iterable<string>;
  replica: Pick<SiteReplica, 'take'>;
  lane: Pick<TelemetryLane, 'ownSites'>;
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
 * judged here; a site it loses, or whose write was fenced, leaves the lane and the alarm book.
 */
export interface SiteTakeover {
  /** Whether this node judges the site now (it owns it and has its state). */
  judges(site: string): boolean;
  /** Brings what this node judges in line with what it owns; call when ownership changed. */
  reconcile(): void;
  /** A write of the site was fenced: another node took it. */
  fenced(site: string): void;
  /**
   * A write of the site went through. If this node no longer judges it (a reading judged before the site was lost,
   * applied after), what that left in the alarm book is the next owner's to show: it leaves this book.
   */
  written(site: string): void;
  close(): void;
}

export function createSiteTakeover(deps: SiteTakeoverDeps): SiteTakeover {
  const judged = new Set<string>();
  const fencedAt = new Map<string, number>();
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
    for (const site of lost) judged.delete(site);
    if (lost.length > 0) deps.book.forgetSites(lost);
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
      fencedAt.delete(site.site);
    }
    deps.lane.ownSites(
      [...judged],
      deps.now(),
      taken.map(({ alarms: _, ...handover }) => handover),
    );
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
      if (!judged.delete(site)) return;
      fencedAt.set(site, deps.now());
      deps.lane.ownSites([...judged], deps.now());
    },
    written(site) {
      if (!judged.has(site)) deps.book.forgetSites([site]);
    },
    close() {
      clearInterval(timer);
    },
  };
}
