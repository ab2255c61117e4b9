import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Profile } from '../../../profiles/index.js';
import { buildRuleSet, formatProblem, parseRuleFile, type RuleFile, type RuleSet, validateRuleSet } from '../../../rules/src/index.js';
import { GatewayError } from '../errors.js';

const PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../profiles');

export type RuleSetLoad = { ok: true; set: RuleSet; files: string[] } | { ok: false; problems: string[] };

/**
 * Reads each profile's default rule file and the configured extra rule files, validates every file
 * (file, line, path), combines them (overrides) and checks the names rules read against the profiles.
 * Every problem is listed; nothing is thrown.
 */
export function loadRuleSet(profiles: ReadonlyMap<string, Profile>, extraFiles: readonly string[]): RuleSetLoad {
  const paths = [...[...profiles.values()].map((profile) => join(PROFILES_DIR, profile.rulesFile)), ...extraFiles];
  const files: RuleFile[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    const shown = relative(process.cwd(), path) || path;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      problems.push(`${shown}: cannot read: ${(error as Error).message}`);
      continue;
    }
    const parsed = parseRuleFile(text, shown);
    if (parsed.ok) files.push(parsed.file);
    else problems.push(...parsed.problems.map(formatProblem));
  }
  if (problems.length > 0) return { ok: false, problems };
  const built = buildRuleSet(files);
  if (!built.ok) return { ok: false, problems: built.problems };
  const checked = validateRuleSet(built.set, {
    metricsOf: (profile) => {
      const found = profiles.get(profile);
      return found ? Object.keys(found.metrics) : null;
    },
  });
  if (checked.length > 0) return { ok: false, problems: checked };
  return { ok: true, set: built.set, files: paths.map((p) => relative(process.cwd(), p) || p) };
}

/** As `loadRuleSet`, for start-up: throws `rules_invalid` listing every problem. */
export function loadRuleSetOrThrow(profiles: ReadonlyMap<string, Profile>, extraFiles: readonly string[]): RuleSet {
  const loaded = loadRuleSet(profiles, extraFiles);
  if (!loaded.ok)
    throw new GatewayError('rules_invalid', `invalid rule files:\n${loaded.problems.map((p) => `  ${p}`).join('\n')}`, loaded.problems);
  return loaded.set;
}
