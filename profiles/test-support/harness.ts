import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Alarm,
  type AlarmTransition,
  createAlarmBook,
  createRuleEngine,
  type DeviceContext,
  formatProblem,
  type MetricValue,
  parseRuleFile,
  type RuleFile,
  ruleSetOf,
  type Severity,
  type VerdictChange,
  validateRuleSet,
} from '../../rules/src/index.js';
import { PROFILES } from '../index.js';
import type { Profile } from '../profile.js';

const PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Midnight UTC of a quiet Sunday; scenarios count from here. */
export const T0 = Date.UTC(2026, 10, 22, 0, 0, 0);

/** Reads and parses a profile's default rule file, failing with every problem listed. */
export function loadProfileRules(profile: Profile): RuleFile {
  const text = readFileSync(join(PROFILES_DIR, profile.rulesFile), 'utf8');
  const parsed = parseRuleFile(text, profile.rulesFile);
  if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
  return parsed.file;
}

/** Load-time checks of the rule files of these profiles: names exist, group members exist. */
export function ruleSetProblems(profiles: readonly Profile[]): string[] {
  const set = ruleSetOf(profiles.map(loadProfileRules));
  return validateRuleSet(set, { metricsOf: (id) => (PROFILES.get(id) ? Object.keys(PROFILES.get(id)?.metrics ?? {}) : null) });
}

export interface DeviceSpec {
  site?: string;
  device: string;
  profile: Profile;
  /** Raw attributes as a commissioning engineer writes them; parsed (defaults filled) with the profile's schema. */
  attributes?: Record<string, MetricValue>;
}

/** One alarm transition as a test sees it. */
export interface Step {
  type: AlarmTransition['type'];
  at: number;
  rule: string;
  device: string;
  severity: Severity;
}

/**
 * Drives readings through the real rule engine and alarm book in virtual time. The clock only moves
 * forward; every due timer between two readings fires at its own time, as the gateway's ticker would.
 */
export function createHarness(
  profiles: readonly Profile[] = [...PROFILES.values()],
  start = T0,
  /** An overrides-only rule file on top of the profiles' defaults (to compare a variant of a rule). */
  overrides?: { profile: string; overrides: Array<{ rule: string; set: Record<string, unknown> }> },
) {
  const files = profiles.map(loadProfileRules);
  if (overrides) {
    const parsed = parseRuleFile(JSON.stringify(overrides), 'overrides.yaml');
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    files.push(parsed.file);
  }
  const set = ruleSetOf(files);
  const profileOf = (id: string): Profile | undefined => PROFILES.get(id);
  const engine = createRuleEngine({
    rules: set,
    unitOf: (p, m) => {
      const spec = profileOf(p)?.metrics[m];
      return spec?.type === 'number' ? spec.unit : null;
    },
    rangeOf: (p, m) => {
      const spec = profileOf(p)?.metrics[m];
      return spec?.type === 'number' ? spec.range : null;
    },
    reportingIntervalOf: (p) => profileOf(p)?.reportingIntervalMs ?? null,
    cadenceOf: (p) => profileOf(p)?.cadence ?? null,
  });
  let nextId = 0;
  const book = createAlarmBook({ newAlarmId: () => `alm_${++nextId}`, flapping: false });
  const devices = new Map<string, DeviceContext>();
  const steps: Step[] = [];
  let now = start;

  const apply = (changes: readonly VerdictChange[]): void => {
    // as the gateway applies a batch: inhibitors first, so a fault alarm holds back what it explains
    for (const t of book.applyAll(changes)) {
      steps.push({ type: t.type, at: t.at, rule: t.alarm.rule, device: t.alarm.device, severity: t.alarm.severity });
    }
  };

  const contextOf = (name: string): DeviceContext => {
    const context = devices.get(name);
    if (!context) throw new Error(`unknown device ${name}`);
    return context;
  };

  const harness = {
    engine,
    book,
    steps,
    get now(): number {
      return now;
    },

    /** Registers a device (silence rules run from now) with its attributes parsed by the profile. */
    device(spec: DeviceSpec): DeviceContext {
      const attributes = spec.profile.attributes.parse(spec.attributes ?? {});
      const context: DeviceContext = { site: spec.site ?? 'site-a', device: spec.device, profile: spec.profile.id, attributes };
      devices.set(spec.device, context);
      apply(engine.registerDevice(context, now));
      return context;
    },

    /** Moves the clock to `t`, firing every timer due on the way. */
    advanceTo(t: number): void {
      if (t < now) throw new Error('the clock only moves forward');
      for (let due = engine.nextDueAt(); due !== null && due <= t; due = engine.nextDueAt()) {
        now = Math.max(now, due);
        apply(engine.tick(due));
      }
      now = t;
    },

    advance(ms: number): void {
      harness.advanceTo(now + ms);
    },

    /** One reading of `device` measured and received now (after moving the clock to `at` when given). */
    send(device: string, metrics: Record<string, MetricValue>, at?: number): void {
      if (at !== undefined) harness.advanceTo(at);
      const context = contextOf(device);
      apply(
        engine.onReading(
          { site: context.site, device: context.device, profile: context.profile, ts: now, receivedAt: now, metrics },
          context,
        ).changes,
      );
    },

    /**
     * Sends a reading every `everyMs` from now until `until` (exclusive); `metricsAt(t, i)` gives each one
     * (return null to skip a reading: the device is silent then).
     */
    run(device: string, until: number, everyMs: number, metricsAt: (t: number, i: number) => Record<string, MetricValue> | null): void {
      let i = 0;
      for (let t = now; t < until; t += everyMs, i += 1) {
        harness.advanceTo(t);
        const metrics = metricsAt(t, i);
        if (metrics !== null) harness.send(device, metrics);
      }
      harness.advanceTo(until);
    },

    /** Acknowledges the open alarm of a rule (and device), then tells the engine, as the gateway does. */
    acknowledge(rule: string, device?: string): void {
      const alarm = harness.open(rule, device);
      if (!alarm) throw new Error(`no open alarm of ${rule}`);
      const result = book.acknowledge(alarm.id, 'duty-officer', null, now);
      if (!result.ok) throw new Error(result.error.code);
      apply(engine.acknowledge(alarm.key, now));
    },

    /** The open (unresolved) alarm of a rule, optionally of one device. */
    open(rule: string, device?: string): Alarm | undefined {
      return book.list({ state: 'open' }).find((a) => a.rule === rule && (device === undefined || a.device === device));
    },

    /** The active alarm of a rule, optionally of one device. */
    active(rule: string, device?: string): Alarm | undefined {
      return book.list({ state: 'active' }).find((a) => a.rule === rule && (device === undefined || a.device === device));
    },

    /** Rules with an active alarm, sorted, as `rule:severity`. */
    activeSummary(): string[] {
      return book
        .list({ state: 'active' })
        .map((a) => `${a.rule}:${a.severity}`)
        .sort();
    },

    /** Every transition of one rule (optionally one device), oldest first. */
    stepsOf(rule: string, device?: string): Step[] {
      return steps.filter((s) => s.rule === rule && (device === undefined || s.device === device));
    },

    /** `type severity @+offset` lines of a rule's transitions, offsets from `origin`, for compact assertions. */
    timeline(rule: string, origin: number, device?: string): string[] {
      return harness.stepsOf(rule, device).map((s) => `${s.type.replace('alarm.', '')} ${s.severity} @${formatOffset(s.at - origin)}`);
    },
  };
  return harness;
}

export type Harness = ReturnType<typeof createHarness>;

/** `90s`, `15m`, `2h30m`, `1d` — offsets in a timeline. */
export function formatOffset(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [size, unit] of [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'm'],
    [SECOND, 's'],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/** Deterministic pseudo-random numbers for scenario noise (mulberry32). */
export function randomSource(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Uniform noise in ±amplitude. */
export const noise = (random: () => number, amplitude: number): number => (random() * 2 - 1) * amplitude;
