import { HttpError, InfluxDB } from '@influxdata/influxdb-client';
import { GatewayError } from '../../errors.js';
import type { InfluxWriter } from './influx-writer.js';
import { writeFailureCode } from './write-answer.js';

export interface InfluxV2Options {
  url: string;
  org: string;
  bucket: string;
  token: string;
  timeoutMs: number;
  /** Bodies larger than this many bytes are sent gzip-compressed (the client's default: 1000). */
  gzipThreshold?: number;
}

/**
 * InfluxDB 2.x write API, `POST /api/v2/write?org=…&bucket=…&precision=ms` with `Authorization: Token …`,
 * through the transport of `@influxdata/influxdb-client` (not its WriteApi: batching, retry and the spool
 * stay the sink's). Errors are mapped as the 1.x writer maps them: no answer, 5xx or 429 is
 * `influx_unavailable` (retried); 400, 413 and 422 are `influx_rejected` (write-answer.ts: the refused points are quarantined).
 * The bucket must exist; its retention is the server's setting.
 */
export function createInfluxV2Writer(options: InfluxV2Options): InfluxWriter {
  const base = options.url.replace(/\/+$/, '');
  const { transport } = new InfluxDB({ url: base, token: options.token, timeout: options.timeoutMs });
  const writePath = `/api/v2/write?${new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ms' })}`;
  const writeOptions = {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    gzipThreshold: options.gzipThreshold ?? 1_000,
  };

  const failure = (cause: unknown, what: string): GatewayError => {
    if (cause instanceof HttpError) {
      const status = cause.statusCode;
      const code = writeFailureCode(status);
      return new GatewayError(
        code,
        `InfluxDB ${what} failed with HTTP ${status}: ${(cause.body ?? '').slice(0, 500)}`,
        { status },
        { cause },
      );
    }
    return new GatewayError('influx_unavailable', `InfluxDB at ${base} unreachable: ${(cause as Error).message}`, undefined, { cause });
  };

  /** `GET /ping` (204 from InfluxDB 2.x and 3.x and from servers that speak their API). */
  const ping = (timeoutMs: number): Promise<unknown> =>
    transport.request('/ping', '', { method: 'GET', signal: AbortSignal.timeout(timeoutMs) });

  return {
    target: `${base} org=${options.org} bucket=${options.bucket}`,
    async write(lines) {
      if (lines.length === 0) return;
      try {
        // the client's transport sends text only (anything else it turns into JSON): rows read as bytes are decoded here
        await transport.request(writePath, lines.map(String).join('\n'), writeOptions);
      } catch (cause) {
        throw failure(cause, 'write');
      }
    },
    /** Nothing to create (the bucket is the server's); reachability, so readiness says whether writes can go. */
    async prepare() {
      try {
        await ping(options.timeoutMs);
      } catch (cause) {
        throw failure(cause, 'ping');
      }
    },
    async ping() {
      try {
        await ping(Math.min(options.timeoutMs, 2_000));
        return true;
      } catch {
        return false;
      }
    },
  };
}
