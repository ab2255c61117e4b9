import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findInfluxd, startLocalInfluxd } from '../../gateway/src/sinks/influx/local-influxd.js';

declare module 'vitest' {
  export interface ProvidedContext {
    influxUrl: string;
  }
}

/**
 * One throwaway InfluxDB 1.x for the integration suite: a real `influxd` on a free loopback port with a
 * temporary data directory. Missing influxd fails the run (never skips) with the command to install it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!findInfluxd()) {
    throw new Error(
      'integration tests need influxd (Debian package influxdb): run `apt-get install -y influxdb`, or `npm test`, which installs it',
    );
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-test-influxd-'));
  const influxd = await startLocalInfluxd({ dataDir });
  project.provide('influxUrl', influxd.url);
  return async () => {
    await influxd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
