import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The test projects of `vitest.config.ts` that a mutation run uses (`MUTATE_PROJECTS`, set by
 * `stryker.config.mjs` from the area): the rule engine's mutants need only the unit tests.
 */
const wanted = new Set((process.env.MUTATE_PROJECTS ?? 'unit,integration').split(','));
const projects = (base.test?.projects ?? []).filter(
  (project) => typeof project === 'object' && 'test' in project && wanted.has(String(project.test?.name)),
);

export default defineConfig({ ...base, test: { ...base.test, projects } });
