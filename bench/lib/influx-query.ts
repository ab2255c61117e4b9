/** Counts what InfluxDB 1.x holds: the stored side of "accepted and stored". */
export async function countStored(url: string, database: string, site: string, field = 'diff_pressure'): Promise<number> {
  const q = `SELECT count("${field}") FROM "telemetry" WHERE "site" = '${site.replace(/'/g, "\\'")}'`;
  const response = await fetch(`${url}/query?${new URLSearchParams({ db: database, q })}`);
  if (!response.ok) throw new Error(`InfluxDB query failed with HTTP ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { results?: Array<{ series?: Array<{ values?: unknown[][] }> }> };
  const value = body.results?.[0]?.series?.[0]?.values?.[0]?.[1];
  return typeof value === 'number' ? value : 0;
}

export async function createDatabase(url: string, database: string): Promise<void> {
  const response = await fetch(`${url}/query?${new URLSearchParams({ q: `CREATE DATABASE "${database}"` })}`, { method: 'POST' });
  if (!response.ok) throw new Error(`CREATE DATABASE failed with HTTP ${response.status}`);
  await response.arrayBuffer();
}
