import type {
  Alarm,
  AlarmActionResult,
  AlarmBook,
  AlarmChase,
  AlarmEvent,
  AlarmTransition,
  Disposal,
  InhibitionChanges,
  Shelf,
  VerdictChange,
} from '../../../rules/src/index.js';
import { resolveRefusal, SEVERITIES } from '../../../rules/src/index.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { AlarmInbox } from './alarm-inbox.js';
import { type AlarmEventListener, tellListeners } from './alarm-listeners.js';
import type { AlarmStore } from './alarm-store.js';

export interface AlarmService {
  /**
   * Applies rule verdict changes; emits one event per alarm transition. `upTo`: their last id in the inbox, taken
   * out in the same commit as the transitions are recorded.
   */
  apply(changes: readonly VerdictChange[], upTo?: number): void;
  /** Applies what the inbox still holds (changes the lane committed before a crash); call before the lane starts. */
  recover(): number;
  /** Time-driven lifecycle steps (flapping ends). */
  tick(now: number): void;
  /** `occurrence`: the alarm's `occurrences` the caller saw (AlarmBook.acknowledge). */
  acknowledge(id: string, by: string, note: string | null, occurrence?: number): AlarmActionResult;
  /** Resolves a cleared alarm, with its disposal record (required when `requireDisposal`). */
  /** `occurrence`: the alarm's `occurrences` the caller saw (refused `alarm_reoccurred` if it returned since). */
  resolve(id: string, by: string, note: string | null, disposal?: Disposal, occurrence?: number): AlarmActionResult;
  /** Assigns (or re-assigns) an unresolved alarm to a responsible person. */
  assign(id: string, to: string, by: string, note: string | null): AlarmActionResult;
  /** Records a step of an escalation policy that fired at `at` (`alarm.chased`, by the system). */
  chase(id: string, chase: AlarmChase, note: string | null, at: number): AlarmActionResult;
  /**
   * Runs a step of the book's suppression layers (shelving) at `now()` in one commit: its transitions are recorded,
   * those not held are delivered, and the shelves and inhibition state it changed are saved.
   */
  record<T>(step: (at: number) => { result: T; transitions: readonly AlarmTransition[] }): T;
  /**
   * Every event goes to every listener, synchronously, inside the commit that records its transition: a listener only
   * enqueues, and what it writes to the store (an outbox row, a spool row) commits or rolls back with the transition.
   */
  onEvent(listener: AlarmEventListener): () => void;
  /**
   * Every event again once its commit is done, in order: what leaves the gateway at once (the live feed, a webhook's
   * request). Nothing of a step whose commit failed: no one sees a transition the store does not hold.
   */
  onCommitted(listener: AlarmEventListener): () => void;
  readonly book: AlarmBook;
}

export interface AlarmServiceDeps {
  book: AlarmBook;
  now(): number;
  newEventId(): string;
  metrics: GatewayMetrics;
  log: Logger;
  /**
   * Tells the rule engine about an accepted acknowledgement (the lane's `acknowledged`): a rule latched
   * until acknowledged lets go, and the changes that follow come back through `apply` like any others.
   */
  acknowledged?(key: string, at: number): void;
  /**
   * Observe `gateway_alarm_decision_seconds` (default true): false where a reading's `receivedAt` may be another host's
   * clock or the events leave later than the commit (a cluster node).
   */
  timesDecisions?: boolean;
  /** The alarm book's record in the local store; absent: alarms live in memory only. */
  store?: AlarmStore | undefined;
  /** Resolved alarms older than this leave the store (checked hourly). */
  retentionMs?: number;
  /** A resolve must carry its disposal record (handling.requireDisposal). */
  requireDisposal?: boolean;
  /** Where the lane's verdict changes wait for the book (with a store). */
  inbox?: AlarmInbox | undefined;
  /** The store cannot record: the gateway cannot go on safely (`main.ts` exits; the inbox replays after the restart). */
  onStoreFailure?(error: Error): void;
  /**
   * In a cluster, what a step recorded, for the shared store (cluster/site-replica.ts): the alarms its transitions
   * touched (held ones too, which no event tells of), the shelves and the inhibition state it changed: all go with
   * their site.
   */
  shared?: SharedRecord | undefined;
}

/** Where a cluster node's alarm book is written for the node that judges its sites next. */
export interface SharedRecord {
  recorded(transitions: readonly AlarmTransition[]): void;
  /** Flapping alarms whose held-back condition changed with no transition (their flapping records go with them). */
  flapsChanged(alarms: readonly Alarm[]): void;
  shelvesChanged(shelves: readonly Shelf[]): void;
  inhibitionChanged(changes: InhibitionChanges): void;
}

/** Resolved alarms the book keeps in memory (the store keeps them for `store.alarms.retention`). */
export const MAX_CLOSED = 10_000;
const PRUNE_EVERY_MS = 3_600_000;

/** The alarm lifecycle as the gateway runs it: the pure alarm book plus event ids, metrics and fan-out. */
export function createAlarmService(deps: AlarmServiceDeps): AlarmService {
  const listeners = new Set<AlarmEventListener>();
  const committedListeners = new Set<AlarmEventListener>();

  deps.metrics.countOpenAlarms(() => {
    const counts = new Map<string, number>(SEVERITIES.map((severity) => [severity, 0]));
    for (const alarm of deps.book.list({ state: 'open' })) counts.set(alarm.severity, (counts.get(alarm.severity) ?? 0) + 1);
    return counts;
  });

  /** Tells the listeners inside the commit; the event is kept in `emitted` for those told after it. */
  const emit = (transition: AlarmTransition, emitted: AlarmEvent[]): void => {
    const event: AlarmEvent = {
      type: transition.type,
      id: deps.newEventId(),
      timestamp: new Date(transition.at).toISOString(),
      data: { alarm: transition.alarm },
    };
    deps.metrics.alarmEvents.inc({ type: event.type, severity: transition.alarm.severity });
    deps.log.info(
      { type: event.type, alarm: transition.alarm.id, key: transition.alarm.key, severity: transition.alarm.severity },
      'alarm transition',
    );
    tellListeners(listeners, event, deps.log, deps.store?.failedWith);
    emitted.push(event);
  };

  /**
   * Runs one step of the book in one commit of the store: its transitions are recorded, then emitted (the webhook
   * outbox writes in the same commit), and once the commit is done told to `onCommitted`'s listeners. A store that
   * cannot write stops the gateway: nothing half-recorded goes on. Steps do not nest (no listener runs one).
   */
  const recorded = <T>(step: () => { result: T; transitions: readonly AlarmTransition[] }): T => {
    const emitted: AlarmEvent[] = [];
    const run = (): T => {
      const { result, transitions } = step();
      saveSuppression();
      if (transitions.length === 0) return result;
      deps.store?.record(transitions, (key) => deps.book.flapOf(key));
      deps.shared?.recorded(transitions);
      // a transition a shelf holds is recorded in the history, not delivered (the shelf's end shows the state)
      for (const transition of transitions) if (!transition.held) emit(transition, emitted);
      return result;
    };
    let result: T;
    if (!deps.store) result = run();
    else {
      try {
        result = deps.store.commit(run);
      } catch (error) {
        deps.log.fatal({ err: error }, 'alarm store failed');
        deps.onStoreFailure?.(error as Error);
        throw error;
      }
    }
    for (const event of emitted) tellListeners(committedListeners, event, deps.log);
    return result;
  };

  /**
   * Shelves, inhibition state and flapping records the step changed, saved in its commit (an inhibited change moves no
   * alarm, nor does a flapping alarm's condition held back).
   */
  function saveSuppression(): void {
    const flapping = deps.book.takeFlapChanges();
    if (flapping.length > 0) {
      deps.store?.saveFlaps(
        flapping.map((alarm) => alarm.key),
        (key) => deps.book.flapOf(key),
      );
      deps.shared?.flapsChanged(flapping);
    }
    const shelves = deps.book.shelving.takeChanged();
    if (shelves.length > 0) {
      deps.store?.saveShelves(shelves);
      deps.shared?.shelvesChanged(shelves);
    }
    const inhibition = deps.book.inhibition.takeChanges();
    if (inhibition) {
      deps.store?.saveInhibition(inhibition);
      deps.shared?.inhibitionChanged(inhibition);
    }
  }

  const act = (action: () => AlarmActionResult): AlarmActionResult =>
    recorded(() => {
      const result = action();
      return { result, transitions: result.ok ? [...(result.before ?? []), result.transition] : [] };
    });

  /**
   * The time from each reading's arrival to its transitions recorded, observed once their commit is done (their
   * webhook requests and live-feed events are on their way): a shelved transition is not delivered, so not timed.
   */
  const timeDecisions = (changes: readonly VerdictChange[], transitions: readonly AlarmTransition[]): void => {
    /** The earliest arrival of a reading that changed each key. */
    let arrivals: Map<string, number> | null = null;
    for (const { key, receivedAt } of changes) {
      if (receivedAt === undefined) continue;
      arrivals ??= new Map();
      const earlier = arrivals.get(key);
      if (earlier === undefined || receivedAt < earlier) arrivals.set(key, receivedAt);
    }
    if (arrivals === null) return;
    const at = deps.now();
    for (const transition of transitions) {
      const receivedAt = transition.held ? undefined : arrivals.get(transition.alarm.key);
      if (receivedAt !== undefined) deps.metrics.alarmDecision.observe(Math.max(0, at - receivedAt) / 1000);
    }
  };

  /** `timed`: the changes come from the lane now (changes replayed from the inbox after a restart are not timed). */
  const apply = (changes: readonly VerdictChange[], upTo?: number, timed = true): void => {
    const transitions: AlarmTransition[] = [];
    recorded(() => {
      for (const transition of deps.book.applyAll(changes)) transitions.push(transition);
      if (upTo !== undefined) deps.inbox?.taken(upTo);
      return { result: undefined, transitions };
    });
    if (timed && deps.timesDecisions !== false) timeDecisions(changes, transitions);
  };

  if (deps.store) deps.book.restore(deps.store.load(MAX_CLOSED));
  let lastPrune = Number.NEGATIVE_INFINITY;

  return {
    apply: (changes, upTo) => apply(changes, upTo),
    recover() {
      const waiting = deps.inbox?.waiting();
      if (!waiting) return 0;
      apply(waiting.changes, waiting.upTo, false);
      return waiting.changes.length;
    },
    tick(now) {
      recorded(() => ({ result: undefined, transitions: deps.book.tick(now) }));
      if (deps.store && deps.retentionMs !== undefined && now - lastPrune >= PRUNE_EVERY_MS) {
        lastPrune = now;
        const pruned = deps.store.prune(now - deps.retentionMs);
        if (pruned > 0) deps.log.info({ alarms: pruned }, 'resolved alarms past retention removed');
      }
    },
    acknowledge(id, by, note, occurrence) {
      const at = deps.now();
      const result = act(() => deps.book.acknowledge(id, by, note, at, occurrence));
      if (result.ok) deps.acknowledged?.(result.transition.alarm.key, at);
      return result;
    },
    resolve(id, by, note, disposal, occurrence) {
      // the alarm's own refusals first (resolved already, still active, returned): a retry of a resolve that went
      // through is told so, not that it lacks a disposal
      if (deps.requireDisposal && !disposal && deps.book.get(id) && resolveRefusal(deps.book.get(id), occurrence) === null)
        return { ok: false, error: { code: 'disposal_required' } };
      return act(() => deps.book.resolve(id, by, note, deps.now(), disposal, occurrence));
    },
    assign: (id, to, by, note) => act(() => deps.book.assign(id, to, by, note, deps.now())),
    chase: (id, chase, note, at) => act(() => deps.book.chase(id, chase, note, at)),
    record: (step) => recorded(() => step(deps.now())),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onCommitted(listener) {
      committedListeners.add(listener);
      return () => committedListeners.delete(listener);
    },
    book: deps.book,
  };
}
