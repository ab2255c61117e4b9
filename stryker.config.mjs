// Mutation testing (`npm run mutate -- <area>`): see the README's Tests section.
// An area names the source it mutates and the vitest projects whose tests may kill its mutants; `tests`, when
// given, narrows those projects to some test files.
const AREAS = {
  // rules/ is a pure library: its own tests must catch its mutants (the gateway's unit tests, which import it, would
  // make every mutant run fastify, sockets and the whole gateway's test files: hours on 2 cores).
  // Its TypeScript checker compiles rules/ alone (tsconfig.rules.json): each check of the whole project made the
  // checker, not the tests, the slowest process of a run.
  rules: { mutate: ['rules/src/**/*.ts'], projects: ['unit'], tests: ['rules/**/*.test.ts'], tsconfig: 'tsconfig.rules.json' },
  // ingest: its own unit tests and the two beside the lane and the store that drive its code in-process (ms each).
  // Not the whole unit + integration projects: every integration test starts a gateway that runs decode, the schema
  // and normalise, so each such mutant would run them all. Not the fast ingest integration files either
  // (rejections 5 s, quarantine-bound 4 s; broker-hostile 21 s): `tests` globs are applied to every project, so
  // they would run in the unit project too, without the influxd of their global setup; what they check of
  // ingest-service is checked by ingest-service.test.ts. Not hostile-input.test.ts: its 100,000-payload fuzz test
  // takes 35 s plain, several times that instrumented, for every mutant of the judging path, and asserts only that
  // each payload gets an answer (no mutant of a detail or a boundary fails it).
  ingest: {
    mutate: ['gateway/src/ingest/**/*.ts'],
    projects: ['unit'],
    tests: [
      'gateway/src/ingest/!(hostile-input).test.ts',
      'gateway/src/lane/lane-faults.test.ts',
      'gateway/src/store/quarantine-sqlite.test.ts',
    ],
    tsconfig: 'tsconfig.ingest.json',
  },
  // broker, http, sinks, alarms: each area's own unit tests (in-process: real aedes and MQTT clients, a whole gateway
  // answering fastify `inject`, a real HTTP server answering as InfluxDB or as a webhook receiver), not test/: every
  // integration test starts gateway processes, so each mutant of a shared path would run them all (hours a run).
  // Their checker compiles the area's source alone (tsconfig.<area>.json): with the whole project the TypeScript
  // checker took 97 s of CPU for 40 alarms mutants against 17 s for their tests. It follows imports, so the area
  // is checked against what it uses; a mutant that breaks only a caller outside the area is tested, not discarded.
  broker: {
    mutate: ['gateway/src/broker/**/*.ts'],
    projects: ['unit'],
    tests: ['gateway/src/broker/*.test.ts'],
    tsconfig: 'tsconfig.broker.json',
  },
  http: {
    mutate: ['gateway/src/http/**/*.ts'],
    projects: ['unit'],
    tests: ['gateway/src/http/*.test.ts', 'gateway/src/http/routes/*.test.ts'],
    tsconfig: 'tsconfig.http.json',
  },
  // Not local-influxd.ts: it spawns influxd and waits for it; the integration suite's global setup exercises it.
  sinks: {
    mutate: ['gateway/src/sinks/**/*.ts', '!gateway/src/sinks/influx/local-influxd.ts'],
    projects: ['unit'],
    tests: ['gateway/src/sinks/**/*.test.ts'],
    tsconfig: 'tsconfig.sinks.json',
  },
  // alarms: its own unit tests and alarm-store-sqlite's (drives alarm-service in-process).
  alarms: {
    mutate: ['gateway/src/alarms/**/*.ts'],
    projects: ['unit'],
    tests: ['gateway/src/alarms/*.test.ts', 'gateway/src/store/alarm-store-sqlite.test.ts'],
    tsconfig: 'tsconfig.alarms.json',
  },
  lane: { mutate: ['gateway/src/lane/**/*.ts'], projects: ['unit', 'integration'] },
};

const areaName = process.env.MUTATE_AREA ?? '';
const area = AREAS[areaName];
if (areaName && !area) throw new Error(`MUTATE_AREA=${areaName}: unknown area; one of ${Object.keys(AREAS).join(', ')}`);
// Read by vitest.mutate.config.ts: which test projects run against the mutants.
process.env.MUTATE_PROJECTS ??= (area?.projects ?? ['unit', 'integration']).join(',');
// Read by vitest.mutate.config.ts: when set, only these test files (globs, comma-separated) of those projects.
if (area?.tests) process.env.MUTATE_TESTS ??= area.tests.join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile: area?.tsconfig ?? 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // Without an area, `--mutate <glob>` on the command line says what to mutate.
  mutate: [...(area?.mutate ?? ['rules/src/**/*.ts']), '!**/*.test.ts'],
  ignoreStatic: true,
  coverageAnalysis: 'perTest',
  // Results of unchanged mutants (same code, same tests) are reused from the last run; local only (gitignored).
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  concurrency: 2,
  // A mutant's time limit: 1.5 × its covering tests' time in the first run + this. 5 s (Stryker's default) was
  // slower, not faster: property tests that shrink a failure ran over it, and each timeout restarts the runner
  // (deadline-queue.ts: 23 timeouts instead of 14, 11.6 min instead of 6.4; one run each, the 5 s one under more load).
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 85, low: 75, break: null },
  cleanTempDir: 'always',
};
