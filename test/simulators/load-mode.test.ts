import { describe, expect, it } from 'vitest';
import { generateLoadDevices } from '../../simulators/src/index.js';
import { exposedMetric } from '../helpers/metrics-text.js';
import { runNodeToExit } from '../helpers/run-to-exit.js';
import { api, startTestGateway, type TestDevice } from '../helpers/test-gateway.js';

/** `npm run simulate -- --profile … --devices N`: one process, many devices, each with its own credentials. */
describe('the simulator CLI in load mode', () => {
  it('connects every generated device with its own credentials and delivers valid readings', async () => {
    const count = 300;
    const devices: TestDevice[] = generateLoadDevices({ profile: 'dust-collector', count }).map((d) => ({
      id: d.id,
      site: d.site,
      profile: d.profile,
      secret: `load-${d.id}`,
    }));
    const gateway = await startTestGateway({ devices, overrides: { influx: { mode: 'off' } } });
    try {
      const args = [
        '--import',
        'tsx',
        'simulators/src/cli/simulate.ts',
        '--profile',
        'dust-collector',
        '--devices',
        String(count),
        '--rate',
        '300',
      ];
      args.push('--duration', '12s', '--url', gateway.mqttUrl, '--secret-prefix', 'load-', '--seed', '7');
      const { code, output } = await runNodeToExit(args);
      expect(code, output).toBe(0);
      const summary = /summary: (\d+) messages, (\d+) readings from (\d+) device\(s\).*errors (\d+), reconnects (\d+)/.exec(output);
      expect(summary, output).not.toBeNull();
      const [, , readings, fleet, errors] = summary!.map(Number);
      expect(fleet).toBe(count);
      expect(errors).toBe(0);
      expect(readings).toBeGreaterThan(count);

      await gateway.settle();
      const metrics = (await api(gateway, '/metrics')).body as string;
      // exposedMetric fails when a metric is missing altogether: a renamed counter must not read as "0 rejections".
      expect(exposedMetric(metrics, 'gateway_readings_accepted_total', { profile: 'dust-collector' })).toBe(readings);
      expect(exposedMetric(metrics, 'gateway_ingest_rejections_total')).toBe(0);
      expect(exposedMetric(metrics, 'gateway_mqtt_connect_refused_total')).toBe(0);
      const listed = (await api(gateway, '/api/devices')).body.devices as Array<{ lastReadingAt: string | null }>;
      expect(listed.filter((d) => d.lastReadingAt === null)).toEqual([]);
    } finally {
      await gateway.close();
    }
  }, 120_000);
});
