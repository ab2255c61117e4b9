import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface RunDir {
  dir: string;
  /** TMPDIR before the run (undefined: it was not set). */
  outer: string | undefined;
  users: number;
}
/** Shared by both projects' setups, which vitest may load as separate module instances. */
const RUN_DIR = Symbol.for('risk-gateway.test-run-tmpdir');
type WithRunDir = typeof globalThis & { [RUN_DIR]?: RunDir };

/**
 * Every temporary directory of a test run under one directory, removed when the run ends. The test files make their
 * data directories, stores and spools with `mkdtempSync(join(tmpdir(), …))` and many leave them (a property test
 * makes hundreds): without this, each run left thousands of directories and gigabytes in /tmp. `TMPDIR` is set
 * before the test workers start, so `os.tmpdir()` in them, and in the gateways, influxd and browsers they start,
 * points here. Both projects list this file; the directory goes when the last of them tears down.
 */
export default function setup(): () => void {
  const shared = globalThis as WithRunDir;
  if (shared[RUN_DIR] === undefined) {
    const outer = process.env.TMPDIR;
    const dir = mkdtempSync(join(tmpdir(), 'risk-gateway-tests-'));
    // as /tmp is: tests run children as another user (`nobody`, for a store it cannot write) inside it
    chmodSync(dir, 0o1777);
    shared[RUN_DIR] = { dir, outer, users: 0 };
    // should a teardown before this one throw (vitest then skips the rest), the directory still goes at exit
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const run = shared[RUN_DIR];
  run.users += 1;
  process.env.TMPDIR = run.dir;
  return () => {
    run.users -= 1;
    if (run.users > 0) return;
    try {
      rmSync(run.dir, { recursive: true, force: true });
    } catch (error) {
      // a mount a test left behind, say: the run's results stand, the directory is named for whoever cleans up
      console.warn(`the test run's temporary directory ${run.dir} was not removed: ${(error as Error).message}`);
    }
    if (run.outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = run.outer;
    delete shared[RUN_DIR];
  };
}
