import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { z } from 'zod';
import { MODELS } from '../models/model-registry.js';
import { type Scenario, scenarioSchema } from './scenario-schema.js';

/** Where the shipped scenarios live. */
export const SCENARIOS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../scenarios');

export class ScenarioError extends Error {
  readonly code = 'scenario_invalid';
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(message);
    this.name = 'ScenarioError';
  }
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');

/** Names of the shipped scenarios (file names without `.yaml`). */
export function listScenarios(): string[] {
  return readdirSync(SCENARIOS_DIR)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => basename(file, '.yaml'))
    .sort();
}

/** A shipped scenario's name (`demo`, `dust-collector-drift`) or a path to a YAML file. */
export function resolveScenarioPath(nameOrPath: string): string {
  if (existsSync(nameOrPath) && nameOrPath.endsWith('.yaml')) return nameOrPath;
  const shipped = join(SCENARIOS_DIR, `${nameOrPath.replace(/\.yaml$/, '')}.yaml`);
  if (existsSync(shipped)) return shipped;
  throw new ScenarioError(`no scenario "${nameOrPath}": not a file, and not one of ${listScenarios().join(', ')}`, []);
}

/** Checks what zod cannot: physical events the device's model knows. */
function modelProblems(scenario: Scenario): string[] {
  const problems: string[] = [];
  const byId = new Map(scenario.devices.map((device) => [device.id, device]));
  scenario.devices.forEach((device, index) => {
    if (!MODELS.has(device.profile)) problems.push(`devices[${index}].profile: no simulator model for "${device.profile}"`);
  });
  scenario.timeline.forEach((entry, index) => {
    if (entry.do !== 'event') return;
    const targets = entry.device ? [entry.device] : (entry.devices ?? scenario.devices.map((d) => d.id));
    for (const target of targets) {
      const model = MODELS.get(byId.get(target)?.profile ?? '');
      if (model && !(entry.name in model.events)) {
        problems.push(
          `timeline[${index}].name: ${model.profile} devices know no event "${entry.name}" (known: ${Object.keys(model.events).join(', ')})`,
        );
      }
    }
  });
  return problems;
}

/** Parses and validates scenario text; every problem is listed with its path. */
export function parseScenario(text: string, fileName: string): Scenario {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ScenarioError(`${fileName}: not valid YAML: ${(error as Error).message}`, [(error as Error).message]);
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = (parsed.error as z.ZodError).issues.map(
      (issue) => `${fileName}: ${formatPath(issue.path) || '(root)'}: ${issue.message}`,
    );
    throw new ScenarioError(`invalid scenario:\n  ${problems.join('\n  ')}`, problems);
  }
  const problems = modelProblems(parsed.data).map((problem) => `${fileName}: ${problem}`);
  if (problems.length > 0) throw new ScenarioError(`invalid scenario:\n  ${problems.join('\n  ')}`, problems);
  return parsed.data;
}

/** Loads a shipped scenario by name (`demo`) or a scenario file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const path = resolveScenarioPath(nameOrPath);
  return parseScenario(readFileSync(path, 'utf8'), relative(process.cwd(), path) || path);
}
