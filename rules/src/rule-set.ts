import { createHash } from 'node:crypto';
import { z } from 'zod';
import { expressionSchema } from './expression/expression-schema.js';
import { type RuleDefinition, ruleDefinitionSchema } from './kinds/registry.js';
import { ownValue } from './own.js';
import { REWORDED } from './reworded-rules.js';

const ruleIdSchema = z.string().regex(/^[a-z0-9_]{1,64}$/, 'rule id: 1–64 of a-z 0-9 _');

/**
 * A per-site or per-device change of one profile rule: `set` is deep-merged into the rule as written in
 * the file (objects merge, arrays and scalars replace, `null` removes a key); the result is validated like
 * any rule. The most specific override wins: device (with or without site) over site over the profile.
 */
export const overrideSchema = z.strictObject({
  rule: ruleIdSchema,
  site: z.string().min(1).optional(),
  device: z.string().min(1).optional(),
  set: z.record(z.string(), z.unknown()),
});
export type Override = z.infer<typeof overrideSchema>;

/** A value computed from each reading of the profile and available to rules like a metric. */
export const derivedValueSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'derived value name: a-z, then a-z 0-9 _'),
  expression: expressionSchema,
  /** Its unit, for messages (a velocity over it reads mm/d, not /d). */
  unit: z.string().min(1).max(32).optional(),
});
export type DerivedValue = z.infer<typeof derivedValueSchema>;

/** Deep merge for overrides: objects merge, arrays and scalars replace, `null` deletes. */
export function mergeOverride(base: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (typeof patch !== 'object' || Array.isArray(patch) || typeof base !== 'object' || base === null || Array.isArray(base)) {
    return structuredClone(patch);
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    const merged = mergeOverride(ownValue(out, key), value);
    if (merged === undefined) delete out[key];
    // defined, not assigned: a `__proto__` key stays a key (and the schema names it), it sets no prototype
    else Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Top-level keys of a rule file that hold only YAML anchors for the rules to use (`x-levels: &levels {…}`), as in Compose files. */
const isExtensionKey = (key: string): boolean => key.startsWith('x-');

/**
 * One rule file: the rules of one profile, its derived values and overrides. `rules` may be omitted in an
 * overrides-only file. Any other key is a problem of the file, but for `x-…` keys (anchors' homes).
 */
export const ruleFileSchema = z
  .preprocess(
    (input) => {
      if (!isRecord(input)) return input;
      const own = Object.fromEntries(Object.entries(input).filter(([key]) => !isExtensionKey(key)));
      return Array.isArray(own.rules) ? { ...own, sourceRules: structuredClone(own.rules) } : own;
    },
    z.strictObject({
      profile: z.string().min(1),
      rules: z.array(ruleDefinitionSchema).default([]),
      derived: z.array(derivedValueSchema).default([]),
      overrides: z.array(overrideSchema).default([]),
      /** The rules as written (before defaults and parsing): overrides merge into these. Filled in by parsing. */
      sourceRules: z.array(z.unknown()).default([]),
    }),
  )
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, index) => {
      if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `duplicate rule id "${rule.id}"` });
      seen.add(rule.id);
    });
    const derivedNames = new Set<string>();
    file.derived.forEach((d, index) => {
      if (derivedNames.has(d.name))
        ctx.addIssue({ code: 'custom', path: ['derived', index, 'name'], message: `duplicate derived value "${d.name}"` });
      derivedNames.add(d.name);
    });
    if (file.sourceRules.length === 0) return;
    file.overrides.forEach((override, index) => {
      const source = file.sourceRules.find((r) => isRecord(r) && r.id === override.rule);
      if (source === undefined) {
        ctx.addIssue({ code: 'custom', path: ['overrides', index, 'rule'], message: `no rule "${override.rule}" in this file` });
        return;
      }
      for (const issue of checkOverride(source, override)) {
        ctx.addIssue({ code: 'custom', path: ['overrides', index, 'set', ...issue.path], message: issue.message });
      }
    });
  });
export type RuleFile = z.infer<typeof ruleFileSchema>;
/** A rule file as written (input of `ruleFileSchema`). */
export type RuleFileInput = z.input<typeof ruleFileSchema>;

function checkOverride(source: unknown, override: Override): Array<{ path: PropertyKey[]; message: string }> {
  if ('id' in override.set || 'kind' in override.set) return [{ path: [], message: 'an override may not change id or kind' }];
  const parsed = ruleDefinitionSchema.safeParse(mergeOverride(source, override.set));
  return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path, message: i.message }));
}

/** An override with its merged, validated rule. */
export interface ResolvedOverride {
  profile: string;
  rule: string;
  site: string | null;
  device: string | null;
  def: RuleDefinition;
}

/** Rules by profile id, as the engine uses them; the map also carries the overrides and derived values. */
export type RuleSet = ReadonlyMap<string, readonly RuleDefinition[]> & {
  readonly overrides?: readonly ResolvedOverride[];
  readonly derived?: ReadonlyMap<string, readonly DerivedValue[]>;
};

export type RuleSetResult = { ok: true; set: RuleSet } | { ok: false; problems: string[] };

/**
 * Combines parsed rule files into a rule set: rules by profile (disabled ones left out), derived values,
 * and overrides resolved against the profile's rules (an overrides-only file may refine another file's
 * profile). Every problem is listed; nothing is thrown.
 */
export function buildRuleSet(files: readonly RuleFile[]): RuleSetResult {
  const rules = new Map<string, RuleDefinition[]>();
  const sources = new Map<string, unknown>();
  const derived = new Map<string, DerivedValue[]>();
  const problems: string[] = [];
  for (const file of files) {
    const list = rules.get(file.profile) ?? [];
    for (const rule of file.rules) {
      if (list.some((r) => r.id === rule.id)) problems.push(`${file.profile}: rule "${rule.id}" is defined twice`);
      list.push(rule);
    }
    rules.set(file.profile, list);
    file.sourceRules.forEach((raw) => {
      if (isRecord(raw) && typeof raw.id === 'string') sources.set(`${file.profile}/${raw.id}`, raw);
    });
    if (file.derived.length > 0) derived.set(file.profile, [...(derived.get(file.profile) ?? []), ...file.derived]);
  }
  const overrides: ResolvedOverride[] = [];
  for (const file of files) {
    file.overrides.forEach((override, index) => {
      const where = `${file.profile}: overrides[${index}] (${override.rule})`;
      const source = sources.get(`${file.profile}/${override.rule}`);
      if (source === undefined) {
        problems.push(`${where}: no rule "${override.rule}" in profile ${file.profile}`);
        return;
      }
      const issues = checkOverride(source, override);
      if (issues.length > 0) {
        for (const issue of issues) problems.push(`${where}: set.${issue.path.join('.')}: ${issue.message}`);
        return;
      }
      const def = ruleDefinitionSchema.parse(mergeOverride(source, override.set));
      overrides.push({ profile: file.profile, rule: override.rule, site: override.site ?? null, device: override.device ?? null, def });
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  const enabled = new Map<string, RuleDefinition[]>();
  for (const [profile, list] of rules)
    enabled.set(
      profile,
      list.filter((r) => r.enabled),
    );
  return { ok: true, set: Object.assign(enabled, { overrides, derived }) };
}

/** `buildRuleSet` for callers that treat a bad set as a fault: throws with every problem in the message. */
export function ruleSetOf(files: readonly RuleFile[]): RuleSet {
  const result = buildRuleSet(files);
  if (!result.ok) throw new Error(`invalid rule set:\n${result.problems.join('\n')}`);
  return result.set;
}

/** The rules that apply to one device: the profile's, with the most specific override of each applied. */
export function rulesForDevice(set: RuleSet, profile: string, site: string, device: string): RuleDefinition[] {
  const base = set.get(profile) ?? [];
  const overrides = set.overrides ?? [];
  if (overrides.length === 0) return [...base];
  const out: RuleDefinition[] = [];
  const ids = new Set([...base.map((r) => r.id), ...overrides.filter((o) => o.profile === profile).map((o) => o.rule)]);
  for (const id of ids) {
    let best: ResolvedOverride | null = null;
    let bestScore = -1;
    for (const o of overrides) {
      if (o.profile !== profile || o.rule !== id) continue;
      if ((o.site !== null && o.site !== site) || (o.device !== null && o.device !== device)) continue;
      const score = (o.device !== null ? 2 : 0) + (o.site !== null ? 1 : 0);
      if (score > bestScore) {
        best = o;
        bestScore = score;
      }
    }
    const def = best ? best.def : base.find((r) => r.id === id);
    if (def?.enabled) out.push(def);
  }
  return out;
}

/** `compute` once per rule definition (definitions are immutable once built): fingerprints and their digests. */
function perDefinition(compute: (def: RuleDefinition) => string): (def: RuleDefinition) => string {
  const cache = new WeakMap<RuleDefinition, string>();
  return (def) => {
    let value = cache.get(def);
    if (value === undefined) {
      value = compute(def);
      cache.set(def, value);
    }
    return value;
  };
}

/**
 * A rule's words — its names, messages, source — are not what it judges: editing them (a better Chinese message, a
 * corrected source) keeps the rule's state and its open alarms, where any other change starts it afresh.
 */
const TEXT_FIELDS: ReadonlySet<string> = new Set([
  'name',
  'name_zh',
  'message',
  'message_zh',
  'clear_message',
  'clear_message_zh',
  'when_name',
  'when_name_zh',
  'source',
]);

/** What a rule judges: its definition without its words (nor an expectation's), nor `alarm: true`, the default. */
function judged(def: RuleDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(def)) {
    if (TEXT_FIELDS.has(key) || (key === 'alarm' && value === true)) continue;
    out[key] =
      key === 'expect' && Array.isArray(value)
        ? value.map((item) =>
            isRecord(item) ? Object.fromEntries(Object.entries(item).filter(([k]) => k !== 'name' && k !== 'name_zh')) : item,
          )
        : value;
  }
  return out;
}

/** Canonical JSON (keys sorted at every depth) of the whole definition, or of what it judges. */
const canonical = (def: RuleDefinition, words: boolean): string =>
  JSON.stringify(words ? def : judged(def), (_key, value: unknown) =>
    isRecord(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, value[k]]),
        )
      : value,
  );

/**
 * A short digest of `fingerprintOf` (SHA-256, 128 bits in base64url) for what is saved with every device's state:
 * the text itself is most of a device's saved state (about 14 of a dust collector's 22 KB when it held sources and
 * messages, rewritten at each commit that moved the device).
 */
export const fingerprintDigestOf = perDefinition((def) => digestOf(fingerprintOf(def)));

/**
 * Whether a saved fingerprint (a digest, or the whole text of older snapshots) is that of `def`. One saved before the
 * words were left out was of the whole definition, words included: that still matches, while the words are the same.
 */
export function fingerprintMatches(saved: string, def: RuleDefinition): boolean {
  if (saved.startsWith('{')) {
    if (saved === fingerprintOf(def) || saved === legacyFingerprintOf(def)) return true;
    return REWORDED.get(digestOf(saved)) === fingerprintDigestOf(def);
  }
  return saved === fingerprintDigestOf(def) || saved === legacyDigestOf(def) || REWORDED.get(saved) === fingerprintDigestOf(def);
}

const digestOf = (text: string): string => createHash('sha256').update(text).digest('base64url').slice(0, 22);

/** The text of a fingerprint before fingerprints left the words out: the whole definition (group rules saved it). */
export const legacyFingerprintOf = (def: RuleDefinition): string => canonical(def, true);

/** The digest a gateway saved before fingerprints left the words out: of the whole definition. */
export const legacyDigestOf = perDefinition((def) => digestOf(legacyFingerprintOf(def)));

/**
 * A stable text of what a rule judges — its definition without its words (`TEXT_FIELDS`): equal texts mean the same
 * rule (a hot reload or a restart keeps its state and open alarms).
 */
export const fingerprintOf = perDefinition((def) => canonical(def, false));
