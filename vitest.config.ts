import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/setup/slow-first-sequencer.js';

export default defineConfig({
  test: {
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['rules/**/*.test.ts', 'profiles/**/*.test.ts', 'gateway/**/*.test.ts', 'simulators/**/*.test.ts'],
          // They run before the integration files, alone: one per core (vitest's default leaves one core idle).
          maxWorkers: 2,
          globalSetup: ['test/setup/run-temp-dir.ts'],
          setupFiles: ['test/setup/fast-check-size.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // The run's temporary directory first: its teardown, last, removes what influxd and the tests left there.
          globalSetup: ['test/setup/run-temp-dir.ts', 'test/setup/global-setup.ts'],
          setupFiles: ['test/setup/fast-check-size.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Three integration files at a time: much of their time is waiting (timers, restarts, outages, a
          // browser), and each has its own gateway, ports, data directory and InfluxDB database. Times: README, Tests.
          maxWorkers: 3,
          // After the unit tests: vitest runs projects of different maxWorkers only in different groups.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
