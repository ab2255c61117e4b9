import type { AlarmActionResult, AlarmBook, AlarmEvent, AlarmTransition, VerdictChange } from '../../../rules/src/index.js';
import { SEVERITIES } from '../../../rules/src/index.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';

export type AlarmEventListener = (event: AlarmEvent) => void;

export interface AlarmService {
  /** Applies rule verdict changes; emits one event per alarm transition. */
  apply(changes: readonly VerdictChange[]): void;
  /** Time-driven lifecycle steps (flapping ends). */
  tick(now: number): void;
  acknowledge(id: string, by: string, note: string | null): AlarmActionResult;
  resolve(id: string, by: string, note: string | null): AlarmActionResult;
  /** Every event goes to every listener, synchronously; a listener only enqueues. */
  onEvent(listener: AlarmEventListener): () => void;
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
}

/** The alarm lifecycle as the gateway runs it: the pure alarm book plus event ids, metrics and fan-out. */
export function createAlarmService(deps: AlarmServiceDeps): AlarmService {
  const listeners = new Set<AlarmEventListener>();

  const refreshOpenGauge = (): void => {
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<string, number>;
    for (const alarm of deps.book.list({ state: 'open' })) counts[alarm.severity] = (counts[alarm.severity] ?? 0) + 1;
    for (const [severity, count] of Object.entries(counts)) deps.metrics.alarmsOpen.set({ severity }, count);
  };

  const emit = (transition: AlarmTransition): void => {
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
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        deps.log.error({ err: error, type: event.type }, 'alarm listener failed');
      }
    }
  };

  const act = (result: AlarmActionResult): AlarmActionResult => {
    if (result.ok) {
      emit(result.transition);
      refreshOpenGauge();
    }
    return result;
  };

  const apply = (changes: readonly VerdictChange[]): void => {
    let emitted = false;
    for (const change of changes) {
      for (const transition of deps.book.apply(change)) {
        emit(transition);
        emitted = true;
      }
    }
    if (emitted) refreshOpenGauge();
  };

  return {
    apply,
    tick(now) {
      const steps = deps.book.tick(now);
      for (const step of steps) emit(step);
      if (steps.length > 0) refreshOpenGauge();
    },
    acknowledge(id, by, note) {
      const at = deps.now();
      const result = act(deps.book.acknowledge(id, by, note, at));
      if (result.ok) deps.acknowledged?.(result.transition.alarm.key, at);
      return result;
    },
    resolve: (id, by, note) => act(deps.book.resolve(id, by, note, deps.now())),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    book: deps.book,
  };
}
