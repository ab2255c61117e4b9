import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RuleFile, formatProblem, parseRuleFile } from '../../../rules/src/index.js';
import type { Profile } from '../../../profiles/index.js';
import { GatewayError } from '../errors.js';

const PROFILES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../profiles');

/**
 * Reads each profile's default rule file and the configured extra rule files, and validates them all;
 * throws `rules_invalid` listing every problem with file, line and path.
 */
export function loadRuleFiles(profiles: Iterable<Profile>, extraFiles: readonly string[]): RuleFile[] {
  const paths = [...[...profiles].map((profile) => join(PROFILES_DIR, profile.rulesFile)), ...extraFiles];
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
  if (problems.length > 0) throw new GatewayError('rules_invalid', `invalid rule files:\n${problems.map((p) => `  ${p}`).join('\n')}`, problems);
  return files;
}
