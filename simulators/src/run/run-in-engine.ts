import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROFILES, type Profile } from '../../../profiles/index.js';
import {
  type AlarmEvent,
  createAlarmBook,
  createRuleEngine,
  type DeviceContext,
  formatProblem,
  parseRuleFile,
  type RuleFile,
  type RuleSet,
  ruleSetOf,
  type VerdictChange,
} from '../../../rules/src/index.js';
import type { Scenario } from '../scenario/scenario-schema.js';
import { decodePayload } from './decode-payload.js';
import { scenarioActions, scenarioStart } from './run-virtual.js';

const PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../profiles');

/** The profiles a scenario needs that this build does not have yet (no metrics, no rules). */
export function missingProfiles(scenario: Scenario): string[] {
  return [...new Set(scenario.devices.map((device) => device.profile))].filter((id) => !PROFILES.has(id));
}

/** Each profile's default rule file, parsed as the gateway does at start-up. */
export function profileRuleSet(profiles: Iterable<Profile>): RuleSet {
  const files: RuleFile[] = [];
  for (const profile of profiles) {
    const parsed = parseRuleFile(readFileSync(join(PROFILES_DIR, profile.rulesFile), 'utf8'), profile.rulesFile);
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    files.push(parsed.file);
  }
  return ruleSetOf(files);
}

export interface EngineRunResult {
  start: number;
  end: number;
  events: AlarmEvent[];
  readings: number;
  rejected: Record<string, number>;
}

/**
 * Plays a scenario straight into the rule engine and alarm book (no broker, no sockets): for days of slope or
 * tailings data in well under a second. Timers fire at their own due times, as the gateway's ticker would.
 */
export function runInEngine(scenario: Scenario, options: { seed?: number; rules?: RuleSet } = {}): EngineRunResult {
  const missing = missingProfiles(scenario);
  if (missing.length > 0) throw new Error(`profiles not available yet: ${missing.join(', ')}`);
  const start = scenarioStart(scenario);
  const end = start + scenario.duration;
  const used = new Set(scenario.devices.map((device) => device.profile));
  const profiles = [...PROFILES.values()].filter((profile) => used.has(profile.id));
  const engine = createRuleEngine({
    rules: options.rules ?? profileRuleSet(profiles),
    unitOf: (p, m) => {
      const spec = PROFILES.get(p)?.metrics[m];
      return spec?.type === 'number' ? spec.unit : null;
    },
    rangeOf: (p, m) => {
      const spec = PROFILES.get(p)?.metrics[m];
      return spec?.type === 'number' ? spec.range : null;
    },
    reportingIntervalOf: (p) => PROFILES.get(p)?.reportingIntervalMs ?? null,
    cadenceOf: (p) => PROFILES.get(p)?.cadence ?? null,
  });
  let nextId = 0;
  const book = createAlarmBook({ newAlarmId: () => `alm_${String(++nextId).padStart(6, '0')}` });
  const result: EngineRunResult = { start, end, events: [], readings: 0, rejected: {} };
  const apply = (changes: readonly VerdictChange[]): void => {
    for (const change of changes) {
      for (const transition of book.apply(change)) {
        result.events.push({
          type: transition.type,
          id: `evt_${String(result.events.length + 1).padStart(6, '0')}`,
          timestamp: new Date(transition.at).toISOString(),
          data: { alarm: transition.alarm },
        });
      }
    }
  };
  const runClock = (until: number): void => {
    for (let due = engine.nextDueAt(); due !== null && due <= until; due = engine.nextDueAt()) apply(engine.tick(due));
  };

  const contexts = new Map<string, DeviceContext>();
  const seen = new Map<string, Set<string>>();
  for (const device of scenario.devices) {
    const profile = PROFILES.get(device.profile) as Profile;
    const context: DeviceContext = {
      site: device.site,
      device: device.id,
      profile: device.profile,
      attributes: profile.attributes.parse(device.attributes),
    };
    contexts.set(device.id, context);
    seen.set(device.id, new Set());
    apply(engine.registerDevice(context, start));
  }
  for (const action of scenarioActions(scenario, options.seed)) {
    if (action.kind !== 'publish' || action.role === 'status') continue;
    runClock(action.at);
    const context = contexts.get(action.device) as DeviceContext;
    const decoded = decodePayload(
      action.payload,
      context,
      PROFILES.get(context.profile) as Profile,
      action.at,
      seen.get(action.device) as Set<string>,
    );
    if (decoded.rejected) result.rejected[decoded.rejected] = (result.rejected[decoded.rejected] ?? 0) + 1;
    for (const reading of decoded.readings) {
      result.readings += 1;
      apply(engine.onReading(reading, context).changes);
    }
  }
  runClock(end);
  return result;
}
