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
            // Each project keeps the globs of its own folder: test/ is the integration project's.
            ...(only ? { include: only.filter((glob) => glob.startsWith('test/') === (project.test?.name === 'integration')) } : {}),
            testTimeout: Math.max(project.test?.testTimeout ?? 0, 60_000),
            // One module graph per worker instead of one per test file: without it each mutant re-imported every
            // covering test file and the code under it (the 26 rules test files: 12 s a run isolated, 2.2 s shared).
            // Stryker switches mutants at run time, so a shared module still runs the active mutant. The unit
            // project only: integration test files start gateways and share process-wide state (metrics, ports).
            // MUTATE_ISOLATE=1 restores isolation to compare.
            ...(project.test?.name === 'unit' && process.env.MUTATE_ISOLATE !== '1' ? { isolate: false } : {}),
          },
        }
      : project,
  );

export default defineConfig({ ...base, test: { ...base.test, projects } });
