// Mutation testing (`npm run mutate -- <area>`): see the README's Tests section.
// An area names the source it mutates and the vitest projects whose tests may kill its mutants.
const AREAS = {
  rules: { mutate: ['rules/src/**/*.ts'], projects: ['unit'] },
  ingest: { mutate: ['gateway/src/ingest/**/*.ts'], projects: ['unit', 'integration'] },
  broker: { mutate: ['gateway/src/broker/**/*.ts'], projects: ['unit', 'integration'] },
  http: { mutate: ['gateway/src/http/**/*.ts'], projects: ['unit', 'integration'] },
  sinks: { mutate: ['gateway/src/sinks/**/*.ts'], projects: ['unit', 'integration'] },
  alarms: { mutate: ['gateway/src/alarms/**/*.ts'], projects: ['unit', 'integration'] },
  lane: { mutate: ['gateway/src/lane/**/*.ts'], projects: ['unit', 'integration'] },
};

const areaName = process.env.MUTATE_AREA ?? '';
const area = AREAS[areaName];
if (areaName && !area) throw new Error(`MUTATE_AREA=${areaName}: unknown area; one of ${Object.keys(AREAS).join(', ')}`);
// Read by vitest.mutate.config.ts: which test projects run against the mutants.
process.env.MUTATE_PROJECTS ??= (area?.projects ?? ['unit', 'integration']).join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // Without an area, `--mutate <glob>` on the command line says what to mutate.
  mutate: [...(area?.mutate ?? ['rules/src/**/*.ts']), '!**/*.test.ts'],
  ignoreStatic: true,
  coverageAnalysis: 'perTest',
  // Results of unchanged mutants (same code, same tests) are reused from the last run; local only (gitignored).
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 85, low: 75, break: null },
  cleanTempDir: 'always',
};
