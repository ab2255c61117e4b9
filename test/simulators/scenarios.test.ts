import { afterAll, describe, expect, it } from 'vitest';
import { listScenarios, loadScenario } from '../../simulators/src/index.js';
import { missingProfiles, runInEngine } from '../../simulators/src/run/run-in-engine.js';
import { alarmsFromEvents, checkExpectations, formatExpectationReport } from '../../simulators/src/scenario/expectations.js';
import { KNOWN_RULE_FINDINGS } from '../../simulators/src/scenario/known-rule-findings.js';
import { runScenarioOnGateway, type ScenarioRun } from '../helpers/scenario-gateway.js';

const runs: ScenarioRun[] = [];
afterAll(async () => {
  await Promise.all(runs.map((run) => run.gateway.close()));
});

/**
 * Every shipped scenario, through the real broker and engine in virtual time (or, for days of data, straight
 * into the engine): exactly the alarms it expects, at the expected severity and time.
 */
describe('shipped scenarios', () => {
  for (const name of listScenarios()) {
    const scenario = loadScenario(name);
    const title = `${name} (${scenario.feed === 'broker' ? 'through the broker' : 'straight into the engine'})`;
    const finding = KNOWN_RULE_FINDINGS[name];
    const test = finding ? it.fails : it;
    test(finding ? `${title} — known rule finding: ${finding}` : title, { timeout: 300_000 }, async () => {
      // A scenario for a profile that profiles/ does not define fails: it never skips.
      expect(missingProfiles(scenario), `${name} uses profile(s) that profiles/ does not define`).toEqual([]);
      let events: Parameters<typeof alarmsFromEvents>[0];
      let start: number;
      if (scenario.feed === 'broker') {
        const run = await runScenarioOnGateway(scenario);
        runs.push(run);
        events = run.events;
        start = run.run.start;
        expect(run.run.published).toBeGreaterThan(scenario.devices.length);
      } else {
        const run = runInEngine(scenario);
        events = run.events;
        start = run.start;
      }
      const report = checkExpectations(scenario.expect, alarmsFromEvents(events), start);
      expect(report.ok, `${name}:\n${formatExpectationReport(report, start)}`).toBe(true);
    });
  }
});
