import type { Profile } from '../../../profiles/index.js';
import type { RuleEngine } from '../../../rules/src/index.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import type { Logger } from '../observability/logger.js';
import { loadRuleSet } from './load-rule-files.js';

export type ReloadResult = { ok: true; files: string[]; changedAlarms: number } | { ok: false; problems: string[] };

/**
 * Hot reload: validate the new rule set, swap it atomically (unchanged rules keep their state), and clear
 * the alarms of removed or changed rules with explicit events. A rejected set leaves the old one running.
 */
export function createRuleReloader(deps: {
  profiles: ReadonlyMap<string, Profile>;
  extraFiles: readonly string[];
  engine: RuleEngine;
  alarms: AlarmService;
  now(): number;
  log: Logger;
}): () => ReloadResult {
  return () => {
    const loaded = loadRuleSet(deps.profiles, deps.extraFiles);
    if (!loaded.ok) {
      deps.log.error({ problems: loaded.problems }, 'rule reload rejected; previous rules kept');
      return { ok: false, problems: loaded.problems };
    }
    const changes = deps.engine.replaceRules(loaded.set, deps.now());
    deps.alarms.apply(changes);
    deps.log.info({ files: loaded.files, changes: changes.length }, 'rules reloaded');
    return { ok: true, files: loaded.files, changedAlarms: changes.length };
  };
}
