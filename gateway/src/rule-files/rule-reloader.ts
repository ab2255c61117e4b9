import type { Profile } from '../../../profiles/index.js';
import type { RuleEngine, VerdictChange } from '../../../rules/src/index.js';
import type { Logger } from '../observability/logger.js';
import { loadRuleSet } from './load-rule-files.js';

export type ReloadResult = { ok: true; files: string[]; changedAlarms: number } | { ok: false; problems: string[] };

/** A reload's answer, and the alarm changes (clears of removed or changed rules) to apply. */
export interface ReloadOutcome {
  result: ReloadResult;
  changes: readonly VerdictChange[];
}

/**
 * Hot reload: validate the new rule set, swap it atomically (unchanged rules keep their state), and
 * return the changes that clear the alarms of removed or changed rules. A rejected set leaves the old one running.
 */
export function createRuleReloader(deps: {
  profiles: ReadonlyMap<string, Profile>;
  extraFiles: readonly string[];
  engine: RuleEngine;
  log: Logger;
}): (now: number) => ReloadOutcome {
  return (now) => {
    const loaded = loadRuleSet(deps.profiles, deps.extraFiles);
    if (!loaded.ok) {
      deps.log.error({ problems: loaded.problems }, 'rule reload rejected; previous rules kept');
      return { result: { ok: false, problems: loaded.problems }, changes: [] };
    }
    const changes = deps.engine.replaceRules(loaded.set, now);
    deps.log.info({ files: loaded.files, changes: changes.length }, 'rules reloaded');
    return { result: { ok: true, files: loaded.files, changedAlarms: changes.length }, changes };
  };
}
