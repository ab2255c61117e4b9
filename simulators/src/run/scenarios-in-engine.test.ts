import { describe, expect, it } from 'vitest';
import { alarmsFromEvents, checkExpectations, formatExpectationReport } from '../scenario/expectations.js';
import { KNOWN_RULE_FINDINGS } from '../scenario/known-rule-findings.js';
import { listScenarios, loadScenario } from '../scenario/load-scenario.js';
import { missingProfiles, runInEngine } from './run-in-engine.js';

/** Every shipped scenario straight into the rule engine and alarm book: exactly the expected alarms. */
describe('shipped scenarios in the engine', () => {
  for (const name of listScenarios()) {
    const scenario = loadScenario(name);
    const finding = KNOWN_RULE_FINDINGS[name];
    const test = finding ? it.fails : it;
    test(finding ? `${name} (known rule finding: ${finding})` : name, () => {
      // A scenario for a profile that profiles/ does not define fails: it never skips.
      expect(missingProfiles(scenario), `${name} uses profile(s) that profiles/ does not define`).toEqual([]);
      const run = runInEngine(scenario);
      const report = checkExpectations(scenario.expect, alarmsFromEvents(run.events), run.start);
      expect(report.ok, `${name}:\n${formatExpectationReport(report, run.start)}`).toBe(true);
    });
  }
});
