import type { GatewayConfig } from '../../config/config-schema.js';
import { GatewayError } from '../../errors.js';

/** One metric of one device over a time range, as stored (contract §7: measurement `telemetry`, tag `device`). */
export interface TrendQuery {
  device: string;
  /** A metric name (`[a-z][a-z0-9_]*`, checked by the route: it goes into the query text). */
  metric: string;
  from: number;
  to: number;
  /** At most this many points, the newest kept when there are more. */
  limit: number;
}

export interface TrendPoint {
  /** Epoch ms. */
  t: number;
  v: number | string | boolean;
}

/** Reads trends back from the InfluxDB the gateway writes to (1.x InfluxQL or 2.x Flux). */
export interface TrendReader {
  read(query: TrendQuery): Promise<{ points: TrendPoint[]; truncated: boolean }>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The reader for `influx.version` at `url`: the same database or bucket the sink writes. */
export function createTrendReader(settings: GatewayConfig['influx'], url: string): TrendReader {
  const base = url.replace(/\/+$/, '');
  const timeoutMs = settings.requestTimeout;

  const fetchOrFail = async (target: string, init: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await fetch(target, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      throw new GatewayError('trend_failed', `InfluxDB at ${base} unreachable: ${(cause as Error).message}`, undefined, { cause });
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).slice(0, 300);
      throw new GatewayError('trend_failed', `InfluxDB query failed with HTTP ${response.status}: ${text}`);
    }
    return response;
  };

  const finish = (points: TrendPoint[], limit: number) => {
    points.sort((a, b) => a.t - b.t);
    return { points: points.slice(-limit), truncated: points.length > limit };
  };

  if (settings.version === 2) {
    const { org, bucket, token } = settings;
    return {
      async read({ device, metric, from, to, limit }) {
        const flux = [
          `from(bucket: ${JSON.stringify(bucket)})`,
          `|> range(start: ${iso(from)}, stop: ${iso(to + 1)})`,
          `|> filter(fn: (r) => r._measurement == "telemetry" and r.device == ${JSON.stringify(device)} and r._field == ${JSON.stringify(metric)})`,
          '|> keep(columns: ["_time", "_value"])',
          `|> tail(n: ${limit + 1})`,
        ].join(' ');
        const response = await fetchOrFail(`${base}/api/v2/query?${new URLSearchParams({ org: org ?? '' })}`, {
          method: 'POST',
          headers: { authorization: `Token ${token ?? ''}`, 'content-type': 'application/vnd.flux', accept: 'application/csv' },
          body: flux,
        });
        return finish(parseFluxCsv(await response.text()), limit);
      },
    };
  }

  const auth: Record<string, string> = settings.username ? { u: settings.username, p: settings.password ?? '' } : {};
  return {
    async read({ device, metric, from, to, limit }) {
      const q =
        `SELECT "${metric}" FROM "telemetry" WHERE "device" = '${device.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` +
        ` AND time >= ${from}ms AND time <= ${to}ms ORDER BY time DESC LIMIT ${limit + 1}`;
      const params = new URLSearchParams({ db: settings.database, epoch: 'ms', q, ...auth });
      const response = await fetchOrFail(`${base}/query?${params}`, { method: 'GET' });
      const body = (await response.json()) as {
        error?: string;
        results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
      };
      const error = body.error ?? body.results?.[0]?.error;
      // A database not written yet has no measurement: an empty trend, not a fault.
      if (error && !/database not found/.test(error)) throw new GatewayError('trend_failed', `InfluxDB query failed: ${error}`);
      const points: TrendPoint[] = [];
      for (const series of body.results?.[0]?.series ?? []) {
        for (const [t, v] of series.values) {
          if (typeof t === 'number' && (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')) points.push({ t, v });
        }
      }
      return finish(points, limit);
    },
  };
}

/** The `_time` and `_value` columns of Flux's annotated CSV answer. */
function parseFluxCsv(text: string): TrendPoint[] {
  const points: TrendPoint[] = [];
  let timeAt = -1;
  let valueAt = -1;
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) {
      timeAt = -1;
      continue;
    }
    const cells = line.split(',');
    if (timeAt < 0) {
      timeAt = cells.indexOf('_time');
      valueAt = cells.indexOf('_value');
      continue;
    }
    const t = Date.parse(cells[timeAt] ?? '');
    const raw = cells[valueAt] ?? '';
    const number = Number(raw);
    const v = raw === 'true' || raw === 'false' ? raw === 'true' : raw !== '' && Number.isFinite(number) ? number : raw;
    if (Number.isFinite(t)) points.push({ t, v });
  }
  return points;
}
