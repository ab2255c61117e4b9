import type { Alarm, AlarmEventType, AlarmTransition } from './alarm.js';
import type { VerdictChange } from './rule-engine.js';
import { compareSeverity, type Severity } from './severity.js';

export type AlarmStateFilter = 'open' | 'active' | 'cleared' | 'all';

export interface AlarmQuery {
  state?: AlarmStateFilter | undefined;
  site?: string | undefined;
  device?: string | undefined;
  severity?: Severity | undefined;
}

/** Why an operator action was refused; stable codes, shown to the API caller. */
export type AlarmActionError =
  | { code: 'alarm_not_found' }
  | { code: 'alarm_resolved' }
  | { code: 'alarm_still_active' }
  | { code: 'alarm_already_acknowledged' };

export type AlarmActionResult = { ok: true; transition: AlarmTransition } | { ok: false; error: AlarmActionError };

export interface AlarmBookSnapshot {
  version: 1;
  alarms: Alarm[];
  history: Array<[string, AlarmTransition[]]>;
}

export interface AlarmBook {
  /** Turns a rule's verdict change into zero or one transition. */
  apply(change: VerdictChange): AlarmTransition[];
  acknowledge(id: string, by: string, note: string | null, at: number): AlarmActionResult;
  resolve(id: string, by: string, note: string | null, at: number): AlarmActionResult;
  get(id: string): Alarm | undefined;
  history(id: string): AlarmTransition[];
  list(query: AlarmQuery): Alarm[];
  snapshot(): AlarmBookSnapshot;
  restore(snapshot: AlarmBookSnapshot): void;
}

export interface AlarmBookDeps {
  newAlarmId(): string;
  /** Closed alarms kept for queries; the oldest go first. */
  maxClosed?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The alarm lifecycle: one open alarm per key (site/device/rule); raise, escalate, de-escalate, clear from
 * rule verdicts; acknowledge and resolve from duty officers. Every transition increments the alarm's `seq`.
 * A condition that returns while its alarm is cleared but not yet resolved re-activates that alarm.
 */
export function createAlarmBook(deps: AlarmBookDeps): AlarmBook {
  const maxClosed = deps.maxClosed ?? 10_000;
  const alarms = new Map<string, Alarm>();
  const openByKey = new Map<string, string>();
  const histories = new Map<string, AlarmTransition[]>();
  const closedOrder: string[] = [];

  const transition = (alarm: Alarm, type: AlarmEventType, at: number, by: string | null = null, note: string | null = null): AlarmTransition => {
    alarm.seq += 1;
    const step: AlarmTransition = { type, at, by, note, alarm: { ...alarm } };
    histories.get(alarm.id)?.push(step);
    return step;
  };

  const forgetOldClosed = (): void => {
    while (closedOrder.length > maxClosed) {
      const id = closedOrder.shift() as string;
      alarms.delete(id);
      histories.delete(id);
    }
  };

  return {
    apply(change) {
      const { verdict } = change;
      if (verdict.status === 'pending') return [];
      const openId = openByKey.get(change.key);
      const open = openId === undefined ? undefined : alarms.get(openId);

      if (verdict.status === 'false') {
        if (!open || open.state === 'cleared') return [];
        open.state = 'cleared';
        open.clearedAt = iso(change.at);
        return [transition(open, 'alarm.cleared', change.at)];
      }

      const details = {
        metric: verdict.metric,
        value: verdict.value,
        threshold: verdict.threshold,
        unit: verdict.unit,
        message: verdict.message,
      };
      if (!open) {
        const alarm: Alarm = {
          id: deps.newAlarmId(),
          key: change.key,
          seq: 0,
          site: change.site,
          device: change.device,
          profile: change.profile,
          rule: change.rule,
          source: change.source,
          severity: verdict.severity,
          previousSeverity: null,
          state: 'active',
          acknowledged: false,
          acknowledgedBy: null,
          acknowledgedAt: null,
          resolved: false,
          resolvedBy: null,
          resolvedAt: null,
          note: null,
          ...details,
          raisedAt: iso(change.at),
          clearedAt: null,
          occurrences: 1,
        };
        alarms.set(alarm.id, alarm);
        openByKey.set(change.key, alarm.id);
        histories.set(alarm.id, []);
        return [transition(alarm, 'alarm.raised', change.at)];
      }

      if (open.state === 'cleared') {
        Object.assign(open, details, {
          state: 'active',
          previousSeverity: open.severity,
          severity: verdict.severity,
          raisedAt: iso(change.at),
          clearedAt: null,
          occurrences: open.occurrences + 1,
        });
        return [transition(open, 'alarm.raised', change.at)];
      }

      const direction = compareSeverity(verdict.severity, open.severity);
      if (direction === 0) return [];
      Object.assign(open, details, { previousSeverity: open.severity, severity: verdict.severity });
      return [transition(open, direction > 0 ? 'alarm.escalated' : 'alarm.deescalated', change.at)];
    },

    acknowledge(id, by, note, at) {
      const alarm = alarms.get(id);
      if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
      if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
      if (alarm.acknowledged) return { ok: false, error: { code: 'alarm_already_acknowledged' } };
      Object.assign(alarm, { acknowledged: true, acknowledgedBy: by, acknowledgedAt: iso(at), note });
      return { ok: true, transition: transition(alarm, 'alarm.acknowledged', at, by, note) };
    },

    resolve(id, by, note, at) {
      const alarm = alarms.get(id);
      if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
      if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
      if (alarm.state === 'active') return { ok: false, error: { code: 'alarm_still_active' } };
      Object.assign(alarm, { resolved: true, resolvedBy: by, resolvedAt: iso(at), note: note ?? alarm.note });
      openByKey.delete(alarm.key);
      closedOrder.push(alarm.id);
      const step = transition(alarm, 'alarm.resolved', at, by, note);
      forgetOldClosed();
      return { ok: true, transition: step };
    },

    get: (id) => alarms.get(id),
    history: (id) => histories.get(id) ?? [],

    list(query) {
      const state = query.state ?? 'open';
      const out: Alarm[] = [];
      for (const alarm of alarms.values()) {
        if (state === 'open' && alarm.resolved) continue;
        if (state === 'active' && alarm.state !== 'active') continue;
        if (state === 'cleared' && alarm.state !== 'cleared') continue;
        if (query.site && alarm.site !== query.site) continue;
        if (query.device && alarm.device !== query.device) continue;
        if (query.severity && alarm.severity !== query.severity) continue;
        out.push(alarm);
      }
      return out.sort((a, b) => (a.raisedAt < b.raisedAt ? 1 : a.raisedAt > b.raisedAt ? -1 : a.id < b.id ? 1 : -1));
    },

    snapshot: () => structuredClone({ version: 1 as const, alarms: [...alarms.values()], history: [...histories.entries()] }),

    restore(snapshot) {
      alarms.clear();
      openByKey.clear();
      histories.clear();
      closedOrder.length = 0;
      const copy = structuredClone(snapshot);
      for (const alarm of copy.alarms) {
        alarms.set(alarm.id, alarm);
        if (alarm.resolved) closedOrder.push(alarm.id);
        else openByKey.set(alarm.key, alarm.id);
      }
      for (const [id, steps] of copy.history) histories.set(id, steps);
    },
  };
}
