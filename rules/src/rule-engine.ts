import { createDeadlineQueue } from './deadline-queue.js';
import { type RuleDefinition, ruleKindOf } from './kinds/registry.js';
import type { DeviceContext, MetricValue, Reading } from './reading.js';
import type { RuleContext } from './rule-kind.js';
import type { RuleSet } from './rule-set.js';
import type { Severity } from './severity.js';
import type { Verdict } from './verdict.js';

/** A rule whose verdict changed (status or severity), as the alarm lifecycle consumes it. */
export interface VerdictChange {
  key: string;
  site: string;
  device: string;
  profile: string;
  rule: string;
  source: string;
  verdict: Verdict;
  at: number;
}

interface RuleSlot {
  def: RuleDefinition;
  state: unknown;
  status: Verdict['status'];
  severity: Severity | null;
}

interface DeviceSlot {
  context: DeviceContext;
  latest: Record<string, MetricValue>;
  lastTs: number;
  rules: Map<string, RuleSlot>;
}

export interface EngineSnapshot {
  version: 1;
  devices: Array<{
    context: DeviceContext;
    latest: Record<string, MetricValue>;
    lastTs: number;
    rules: Array<{ id: string; state: unknown; status: Verdict['status']; severity: Severity | null }>;
  }>;
}

export interface ReadingOutcome {
  changes: VerdictChange[];
  /** The reading was older than one already evaluated for the device: stored, not evaluated. */
  late: boolean;
}

export interface RuleEngineDeps {
  rules: RuleSet;
  unitOf(profile: string, metric: string): string | null;
}

export interface RuleEngine {
  onReading(reading: Reading, device: DeviceContext): ReadingOutcome;
  tick(now: number): VerdictChange[];
  nextDueAt(): number | null;
  snapshot(): EngineSnapshot;
  restore(snapshot: EngineSnapshot): void;
  /** Current verdicts, for inspection (API, tests). */
  verdicts(): Array<{ key: string; status: Verdict['status']; severity: Severity | null }>;
}

const deviceKey = (site: string, device: string): string => `${site}/${device}`;

export function createRuleEngine(deps: RuleEngineDeps): RuleEngine {
  const devices = new Map<string, DeviceSlot>();
  const deadlines = createDeadlineQueue();

  const contextFor = (slot: DeviceSlot, now: number): RuleContext => ({
    now,
    device: slot.context,
    latest: slot.latest,
    unitOf: (metric) => deps.unitOf(slot.context.profile, metric),
  });

  const slotFor = (context: DeviceContext): DeviceSlot => {
    const key = deviceKey(context.site, context.device);
    let slot = devices.get(key);
    if (!slot) {
      slot = { context, latest: {}, lastTs: Number.NEGATIVE_INFINITY, rules: new Map() };
      for (const def of deps.rules.get(context.profile) ?? []) {
        slot.rules.set(def.id, { def, state: ruleKindOf(def).initialState(def), status: 'false', severity: null });
      }
      devices.set(key, slot);
    } else {
      slot.context = context;
    }
    return slot;
  };

  const record = (slot: DeviceSlot, rule: RuleSlot, verdict: Verdict | undefined, at: number, out: VerdictChange[]): void => {
    const kind = ruleKindOf(rule.def);
    const key = `${deviceKey(slot.context.site, slot.context.device)}/${rule.def.id}`;
    const due = kind.dueAt(rule.def, rule.state);
    if (due === null) deadlines.cancel(key);
    else deadlines.schedule(key, due);
    if (verdict === undefined) return;
    const severity = verdict.status === 'true' ? verdict.severity : null;
    if (verdict.status === rule.status && severity === rule.severity) return;
    rule.status = verdict.status;
    rule.severity = severity;
    out.push({
      key,
      site: slot.context.site,
      device: slot.context.device,
      profile: slot.context.profile,
      rule: rule.def.id,
      source: rule.def.source,
      verdict,
      at,
    });
  };

  return {
    onReading(reading, device) {
      const slot = slotFor(device);
      if (reading.ts < slot.lastTs) return { changes: [], late: true };
      slot.lastTs = reading.ts;
      Object.assign(slot.latest, reading.metrics);
      const ctx = contextFor(slot, reading.ts);
      const changes: VerdictChange[] = [];
      for (const rule of slot.rules.values()) {
        const verdict = ruleKindOf(rule.def).onReading(rule.def, rule.state, reading, ctx);
        record(slot, rule, verdict, reading.ts, changes);
      }
      return { changes, late: false };
    },

    tick(now) {
      const changes: VerdictChange[] = [];
      for (const key of deadlines.popDue(now)) {
        const cut = key.lastIndexOf('/');
        const slot = devices.get(key.slice(0, cut));
        const rule = slot?.rules.get(key.slice(cut + 1));
        if (!slot || !rule) continue;
        const verdict = ruleKindOf(rule.def).onTick(rule.def, rule.state, contextFor(slot, now));
        record(slot, rule, verdict, now, changes);
      }
      return changes;
    },

    nextDueAt: () => deadlines.nextDueAt(),

    snapshot() {
      return structuredClone({
        version: 1 as const,
        devices: [...devices.values()].map((slot) => ({
          context: slot.context,
          latest: slot.latest,
          lastTs: slot.lastTs,
          rules: [...slot.rules.values()].map((r) => ({ id: r.def.id, state: r.state, status: r.status, severity: r.severity })),
        })),
      });
    },

    restore(snapshot) {
      devices.clear();
      for (const saved of structuredClone(snapshot).devices) {
        const slot = slotFor(saved.context);
        slot.latest = saved.latest;
        slot.lastTs = saved.lastTs ?? Number.NEGATIVE_INFINITY;
        for (const rule of saved.rules) {
          const live = slot.rules.get(rule.id);
          if (!live) continue;
          live.state = rule.state;
          live.status = rule.status;
          live.severity = rule.severity;
          record(slot, live, undefined, 0, []);
        }
      }
    },

    verdicts() {
      const out: Array<{ key: string; status: Verdict['status']; severity: Severity | null }> = [];
      for (const slot of devices.values()) {
        for (const rule of slot.rules.values()) {
          out.push({ key: `${deviceKey(slot.context.site, slot.context.device)}/${rule.def.id}`, status: rule.status, severity: rule.severity });
        }
      }
      return out;
    },
  };
}
