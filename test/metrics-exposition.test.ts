import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredMetrics, exposedSamples } from './helpers/metrics-text.js';
import { connectDevice, grantedQos, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, LANE_THREADS, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** Labels that name one device or client: one series each would grow with the fleet. */
const PER_ENTITY_LABELS = ['device', 'client', 'client_id', 'clientid', 'topic'];

/**
 * Prometheus' own linter and text-format parser (`promtool check metrics`, Debian package `prometheus`):
 * its findings, empty when the exposition is clean. Missing promtool fails the test with the install command.
 */
function promtoolCheck(exposition: string): { status: number | null; findings: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) {
    throw new Error(
      `the metrics lint needs promtool (Debian package prometheus): run \`apt-get install -y prometheus\`, or \`npm test\`, which installs it (${run.error.message})`,
    );
  }
  return { status: run.status, findings: `${run.stdout}${run.stderr}`.trim() };
}

describe('promtool itself', () => {
  it('refuses what Prometheus naming forbids (so a clean run below means something)', () => {
    const bad = '# HELP gateway_queue_total Items waiting\n# TYPE gateway_queue_total gauge\ngateway_queue_total 3\n';
    const result = promtoolCheck(bad);
    expect(result.status).not.toBe(0);
    expect(result.findings).toContain('non-counter metrics should not have "_total" suffix');
  });
});

describe.each(LANE_THREADS)('GET /metrics follows Prometheus conventions — lane.thread: %s', (thread) => {
  let gateway: TestGateway;
  let exposition: string;

  beforeAll(async () => {
    gateway = await startTestGateway({ thread, overrides: { influx: { mode: 'off' } } });
    // Traffic that fills the labelled series: accepted readings, rejections, ACL refusals of both kinds.
    const device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hopper_temp: 40 } });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hoper_temp: 40 } });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-02'), { metrics: { hopper_temp: 40 } });
    expect(await grantedQos(device, '#')).toBe(128);
    await device.endAsync();
    await gateway.settle();
    exposition = await eventually('the refusals counted', async () => {
      const text = (await api(gateway, '/metrics', { token: null })).body as string;
      return /^gateway_mqtt_acl_denied_total\{action="subscribe"\} 1$/m.test(text) ? text : undefined;
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('passes promtool check metrics: parses, and no lint finding (names, units, _total on counters only)', () => {
    expect(promtoolCheck(exposition)).toEqual({ status: 0, findings: '' });
  });

  it('names every metric gateway_… once: no doubled prefix or word', () => {
    const names = [...declaredMetrics(exposition).keys()];
    expect(names.length).toBeGreaterThan(40);
    expect(names.filter((name) => !name.startsWith('gateway_'))).toEqual([]);
    const doubled = names.filter((name) => name.split('_').some((word, i, words) => i > 0 && word === words[i - 1]));
    expect(doubled).toEqual([]);
    for (const name of ['gateway_process_start_time_seconds', 'gateway_process_cpu_seconds_total', 'gateway_nodejs_heap_size_used_bytes'])
      expect(names).toContain(name);
  });

  it('has bounded label sets: no label names a device or client, reasons are labels', () => {
    const samples = exposedSamples(exposition);
    const perEntity = samples.filter((s) => Object.keys(s.labels).some((label) => PER_ENTITY_LABELS.includes(label.toLowerCase())));
    expect(perEntity.map((s) => `${s.name}${JSON.stringify(s.labels)}`)).toEqual([]);
    // The series those labels were on are there, by reason and action alone.
    const value = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
    expect(value('gateway_ingest_rejections_total', { reason: 'unknown_metric' })).toBe(1);
    expect(value('gateway_ingest_rejections_total', { reason: 'forbidden' })).toBe(1);
    expect(value('gateway_mqtt_acl_denied_total', { action: 'publish' })).toBe(1);
    expect(value('gateway_mqtt_acl_denied_total', { action: 'subscribe' })).toBe(1);
  });

  it('has every metric the Grafana dashboards query (a renamed metric would leave a panel empty)', () => {
    const folder = new URL('../dashboards/grafana/dashboards/', import.meta.url);
    const queried = new Set<string>();
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node !== null && typeof node === 'object')
        for (const [key, value] of Object.entries(node)) {
          if (key === 'expr' && typeof value === 'string')
            for (const [name] of value.matchAll(/gateway_[a-z0-9_]+/g)) queried.add(name.replace(/_(bucket|sum|count)$/, ''));
          else visit(value);
        }
    };
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.json')))
      visit(JSON.parse(readFileSync(new URL(file, folder), 'utf8')));
    expect(queried.size).toBeGreaterThan(3);
    const declared = declaredMetrics(exposition);
    expect([...queried].filter((name) => !declared.has(name))).toEqual([]);
  });

  it("shows each thread's heap and event-loop lag, labelled thread, and the process's metrics once", () => {
    const samples = exposedSamples(exposition);
    const threads = thread === 'worker' ? ['main', 'telemetry'] : ['main'];
    for (const name of ['gateway_nodejs_heap_size_used_bytes', 'gateway_nodejs_eventloop_lag_p99_seconds']) {
      const series = samples.filter((s) => s.name === name);
      expect([...new Set(series.map((s) => s.labels.thread))].sort(), name).toEqual(threads);
    }
    for (const t of threads) {
      const heap = samples.find((s) => s.name === 'gateway_nodejs_heap_size_used_bytes' && s.labels.thread === t);
      expect(heap?.value, `heap used, thread ${t}`).toBeGreaterThan(1_000_000);
    }
    // Process-wide numbers come once, without a thread label.
    for (const name of [
      'gateway_process_resident_memory_bytes',
      'gateway_process_start_time_seconds',
      'gateway_process_cpu_seconds_total',
    ]) {
      const series = samples.filter((s) => s.name === name);
      expect(series, name).toHaveLength(1);
      expect(series[0]?.labels, name).toEqual({});
    }
  });
});
