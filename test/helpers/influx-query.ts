import { InfluxDB } from 'influx';
import { inject } from 'vitest';

/** Queries the suite's real influxd with the 1.x client (InfluxQL). */
export async function queryInflux(database: string, query: string): Promise<any[]> {
  const url = new URL(inject('influxUrl'));
  const client = new InfluxDB({ host: url.hostname, port: Number(url.port), database });
  return [...(await client.query(query))];
}

/**
 * Rows of `SELECT hopper_temp, device …` as device → time (ms) → the values stored at that time: a reading stored
 * once has one value, a reading stored twice (on two series) two.
 */
export function hopperValuesByDevice(rows: readonly any[]): Map<string, Map<number, number[]>> {
  const stored = new Map<string, Map<number, number[]>>();
  for (const row of rows) {
    const byTs = stored.get(row.device) ?? new Map<number, number[]>();
    const ts = new Date(row.time).getTime();
    byTs.set(ts, [...(byTs.get(ts) ?? []), row.hopper_temp]);
    stored.set(row.device, byTs);
  }
  return stored;
}
