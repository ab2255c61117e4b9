import { formatProblem, parseRuleFile } from '../src/parse-rule-file.js';
import type { DeviceContext, MetricValue } from '../src/reading.js';
import { createRuleEngine, type RuleEngine, type RuleEngineDeps, type VerdictChange } from '../src/rule-engine.js';
import { type RuleSet, ruleSetOf } from '../src/rule-set.js';
import type { Verdict } from '../src/verdict.js';

/** A rule set from YAML text; throws with every problem (tests only). */
export function ruleSetFromYaml(...texts: string[]): RuleSet {
  return ruleSetOf(
    texts.map((text, i) => {
      const parsed = parseRuleFile(text, `test-${i}.yaml`);
      if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
      return parsed.file;
    }),
  );
}

export interface Harness {
  engine: RuleEngine;
  device: DeviceContext;
  changes: VerdictChange[];
  read(ts: number, metrics: Record<string, MetricValue>, receivedAt?: number): VerdictChange[];
  tick(now: number): VerdictChange[];
  /** Runs the clock to `until`, stopping at every due timer. */
  advanceTo(until: number): VerdictChange[];
  /** The latest verdict status/severity of one rule: 'false' | 'pending' | severity. */
  state(rule: string): string;
  last(rule: string): Verdict | undefined;
}

/** One device of one profile driven through an engine with a fake clock. */
export function harness(
  yaml: string,
  options: { attributes?: Record<string, MetricValue>; deps?: Partial<RuleEngineDeps>; profile?: string } = {},
): Harness {
  const rules = ruleSetFromYaml(yaml);
  const profile = options.profile ?? [...rules.keys()][0] ?? 'p';
  const engine = createRuleEngine({ unitOf: () => 'u', ...options.deps, rules });
  const device: DeviceContext = { site: 's', device: 'd', profile, attributes: options.attributes ?? {} };
  const changes: VerdictChange[] = [];
  const keep = (out: VerdictChange[]): VerdictChange[] => {
    changes.push(...out);
    return out;
  };
  const h: Harness = {
    engine,
    device,
    changes,
    read: (ts, metrics, receivedAt) => keep(engine.onReading({ site: 's', device: 'd', profile, ts, receivedAt, metrics }, device).changes),
    tick: (now) => keep(engine.tick(now)),
    advanceTo(until) {
      const out: VerdictChange[] = [];
      for (let due = engine.nextDueAt(); due !== null && due <= until; due = engine.nextDueAt()) out.push(...engine.tick(due));
      return keep(out);
    },
    state(rule) {
      const v = engine.verdicts().find((x) => x.key.endsWith(`/${rule}`));
      if (!v) return 'missing';
      return v.status === 'true' ? (v.severity as string) : v.status;
    },
    last(rule) {
      for (let i = changes.length - 1; i >= 0; i -= 1) if (changes[i]?.rule === rule) return changes[i]?.verdict;
      return undefined;
    },
  };
  return h;
}
