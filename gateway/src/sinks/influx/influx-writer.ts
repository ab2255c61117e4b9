import { GatewayError } from '../../errors.js';
import { type HttpAnswer, httpSend } from '../http-send.js';
import { type LineChunk, lineBody } from './line-body.js';
import { writeFailureCode } from './write-answer.js';

const parsedOr = (text: string, otherwise: unknown): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return otherwise;
  }
};

/** Writes line-protocol batches to one InfluxDB; the port every InfluxDB API version implements. */
export interface InfluxWriter {
  readonly target: string;
  /** One request whose body is `lines` joined by '\n' (a piece may hold several lines already joined). */
  write(lines: readonly LineChunk[]): Promise<void>;
  /** Creates the database when missing (1.x); idempotent. */
  prepare(): Promise<void>;
  ping(): Promise<boolean>;
}

export interface InfluxV1Options {
  url: string;
  database: string;
  username?: string | undefined;
  password?: string | undefined;
  timeoutMs: number;
  /** Retention of the database: policy `gateway` with this duration, made the default; null leaves the database's own. */
  retentionMs?: number | null;
}

/** InfluxDB 1.x HTTP API: `POST /write?db=…&precision=ms`, `POST /query` for CREATE DATABASE. */
export function createInfluxV1Writer(options: InfluxV1Options): InfluxWriter {
  const base = options.url.replace(/\/+$/, '');
  const auth: Record<string, string> = options.username ? { u: options.username, p: options.password ?? '' } : {};

  const request = async (path: string, params: Record<string, string>, body?: string | Buffer): Promise<HttpAnswer> => {
    const url = `${base}${path}?${new URLSearchParams({ ...params, ...auth })}`;
    try {
      return await httpSend('POST', url, { body: body ?? '', timeoutMs: options.timeoutMs });
    } catch (cause) {
      throw new GatewayError('influx_unavailable', `InfluxDB at ${base} unreachable: ${(cause as Error).message}`, undefined, { cause });
    }
  };

  const failure = (answer: HttpAnswer, what: string): GatewayError => {
    const code = writeFailureCode(answer.status);
    // a redirect is not followed (a write's body would not go with it): the configured url is the one to mend
    const location = answer.status >= 300 && answer.status < 400 ? answer.headers.get('location') : null;
    const detail = location ? `redirected to ${location}: set influx.url to where InfluxDB answers` : answer.body.slice(0, 500);
    return new GatewayError(code, `InfluxDB ${what} failed with HTTP ${answer.status}: ${detail}`, { status: answer.status });
  };
  const ok = (answer: HttpAnswer): boolean => answer.status >= 200 && answer.status < 300;

  return {
    target: `${base} db=${options.database}`,
    async write(lines) {
      if (lines.length === 0) return;
      const answer = await request('/write', { db: options.database, precision: 'ms' }, lineBody(lines));
      if (!ok(answer)) throw failure(answer, 'write');
    },
    async prepare() {
      const database = `"${options.database.replace(/"/g, '\\"')}"`;
      const answer = await request('/query', { q: `CREATE DATABASE ${database}` });
      if (!ok(answer)) throw failure(answer, 'CREATE DATABASE');
      if (!options.retentionMs) return;
      // InfluxQL answers 200 with the error in the body; an existing policy is altered to the configured duration.
      const policy = `DURATION ${Math.round(options.retentionMs / 1000)}s REPLICATION 1 DEFAULT`;
      const statement = async (q: string): Promise<string | null> => {
        const answer = await request('/query', { q });
        if (!ok(answer)) throw failure(answer, q.split(' ', 3).join(' '));
        const body = parsedOr(answer.body, {}) as { results?: Array<{ error?: string }>; error?: string };
        return body.error ?? body.results?.[0]?.error ?? null;
      };
      const created = await statement(`CREATE RETENTION POLICY "gateway" ON ${database} ${policy}`);
      const problem = created?.includes('already exists')
        ? await statement(`ALTER RETENTION POLICY "gateway" ON ${database} ${policy}`)
        : created;
      if (problem) throw new GatewayError('influx_rejected', `InfluxDB retention policy failed: ${problem}`);
    },
    async ping() {
      try {
        return ok(await httpSend('GET', `${base}/ping`, { timeoutMs: Math.min(options.timeoutMs, 2_000) }));
      } catch {
        return false;
      }
    },
  };
}
