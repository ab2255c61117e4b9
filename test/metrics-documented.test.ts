import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredMetrics } from './helpers/metrics-text.js';
import { api, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** The rows of the README's metrics table: name (a trailing `*` is a family) and type. */
function documentedMetrics(): Array<{ name: string; type: string }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Metrics (`GET /metrics`)');
  if (start === -1) throw new Error('README.md has no "### Metrics (`GET /metrics`)" section');
  const end = readme.indexOf('\n#', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const rows = [...section.matchAll(/^\| `([a-z_]+\*?)` \| ([a-z—]+) \|/gm)].map((m) => ({ name: m[1] as string, type: m[2] as string }));
  if (rows.length === 0) throw new Error('the README metrics section has no table rows');
  return rows;
}

describe('GET /metrics exports exactly the metrics the README documents', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway(); // the worker thread's metrics are merged in
  });
  afterAll(() => gateway?.close());

  it('has every documented metric, of the documented type, and none that is not documented', async () => {
    const exposed = declaredMetrics((await api(gateway, '/metrics')).body as string);
    const documented = documentedMetrics();
    const families = documented.filter((d) => d.name.endsWith('*')).map((d) => d.name.slice(0, -1));
    const named = documented.filter((d) => !d.name.endsWith('*'));

    const missing = named.filter((d) => !exposed.has(d.name)).map((d) => d.name);
    expect(missing, 'documented in the README but not in /metrics').toEqual([]);
    const wrongType = named
      .filter((d) => exposed.get(d.name) !== d.type)
      .map((d) => `${d.name}: README ${d.type}, /metrics ${exposed.get(d.name)}`);
    expect(wrongType, 'type differs from the README').toEqual([]);
    const undocumented = [...exposed.keys()].filter(
      (name) => !named.some((d) => d.name === name) && !families.some((f) => name.startsWith(f)),
    );
    expect(undocumented, 'in /metrics but not in the README metrics table').toEqual([]);
    for (const family of families)
      expect(
        [...exposed.keys()].some((name) => name.startsWith(family)),
        `${family}* in /metrics`,
      ).toBe(true);
  });
});
