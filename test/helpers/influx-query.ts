import { InfluxDB } from 'influx';
import { inject } from 'vitest';

/** Queries the suite's real influxd with the 1.x client (InfluxQL). */
export async function queryInflux(database: string, query: string): Promise<any[]> {
  const url = new URL(inject('influxUrl'));
  const client = new InfluxDB({ host: url.hostname, port: Number(url.port), database });
  return [...(await client.query(query))];
}
