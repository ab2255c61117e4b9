import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The test projects of `vitest.config.ts` that a mutation run uses (`MUTATE_PROJECTS`, set by
 * `stryker.config.mjs` from the area): the rule engine's mutants need only the unit tests.
 */
const wanted = new Set((process.env.MUTATE_PROJECTS ?? 'unit,integration').split(','));
/** `MUTATE_TESTS` (comma-separated globs, set by the `rules` area): only these test files of those projects. */
const only = process.env.MUTATE_TESTS ? process.env.MUTATE_TESTS.split(',') : undefined;
// Instrumented code with per-test coverage runs a test several times slower (the window rule's 100 000-sample
// memory test: 0.3 s plain, over vitest's 5 s default in Stryker's first run), so tests get more time here.
const projects = (base.test?.projects ?? [])
  .filter((project) => typeof project === 'object' && 'test' in project && wanted.has(String(project.test?.name)))
  .map((project) =>
    typeof project === 'object' && 'test' in project
      ? {
          ...project,
          test: {
            ...project.test,
            ...(only ? { include: only } : {}),
            testTimeout: Math.max(project.test?.testTimeout ?? 0, 60_000),
          },
        }
      : project,
  );

export default defineConfig({ ...base, test: { ...base.test, projects } });
