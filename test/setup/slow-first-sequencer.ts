import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The integration files that take longest (about a minute or more each on 2 cores), longest first. Vitest orders
 * files by their last durations when it has them, and by size on a fresh checkout (CI) — which started the
 * scenario replays, a small file, last, leaving it running alone for two minutes at the end of the suite.
 */
const SLOWEST = [
  'test/webhook-restart.test.ts',
  'test/production.test.ts',
  'test/simulators/scenarios.test.ts',
  'test/store-unusable.test.ts',
  'test/console/console-handling.test.ts',
  'test/alarm-restart.test.ts',
  'test/kill-under-load.test.ts',
  'test/console/console-burst.test.ts',
  'test/mass-outage.test.ts',
  'test/store-full.test.ts',
  'test/http-access.test.ts',
  'test/simulators/play-scaled.test.ts',
];

const rank = (spec: TestSpecification): number => {
  const index = SLOWEST.findIndex((file) => spec.moduleId.endsWith(file));
  return index === -1 ? SLOWEST.length : index;
};

/** Vitest's own order, with the slowest integration files moved to the front (a stable sort keeps the rest). */
export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...(await super.sort(files))].sort((a, b) => rank(a) - rank(b));
  }
}
