import { join } from 'node:path';
import type { GatewayConfig } from '../../config/config-schema.js';
import { GatewayError } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { createInfluxSink, type InfluxSink, type RefusedPoint } from './influx-sink.js';
import { createInfluxV2Writer } from './influx-v2-writer.js';
import { createInfluxV1Writer, type InfluxWriter } from './influx-writer.js';
import { findInfluxd, type LocalInfluxd, startLocalInfluxd } from './local-influxd.js';
import type { PointQueue } from './point-queue.js';

/** Where telemetry goes: a URL, or nowhere and why; `local` is the influxd the gateway started itself. */
export interface InfluxTarget {
  url: string | null;
  disabledReason: string | null;
  local: LocalInfluxd | null;
}

/** Resolves `influx.mode`: the configured URL, a local influxd started now (`auto`), or off. */
export async function resolveInfluxTarget(config: GatewayConfig, log: Logger): Promise<InfluxTarget> {
  const settings = config.influx;
  if (settings.mode === 'off') return { url: null, disabledReason: 'influx.mode is off', local: null };
  if (settings.mode === 'url') return { url: settings.url, disabledReason: null, local: null };
  if (!findInfluxd()) {
    const reason = 'no InfluxDB configured and no influxd installed (apt-get install influxdb); telemetry is not stored';
    log.warn({ reason }, 'influxdb writes disabled');
    return { url: null, disabledReason: reason, local: null };
  }
  try {
    const local = await startLocalInfluxd({ dataDir: join(config.dataDir, 'influxd') });
    log.info({ url: local.url }, 'local influxd started');
    return { url: local.url, disabledReason: null, local };
  } catch (error) {
    const reason = `local influxd failed to start: ${(error as Error).message.split('\n')[0]}`;
    log.warn({ err: error }, 'influxdb writes disabled');
    return { url: null, disabledReason: reason, local: null };
  }
}

/** The started InfluxDB sink for `url` with the configured batching, or null when telemetry is not stored. */
export async function startInfluxSink(
  settings: GatewayConfig['influx'],
  url: string | null,
  metrics: GatewayMetrics,
  log: Logger,
  queue?: PointQueue,
  onRefused?: (points: RefusedPoint[]) => void,
): Promise<InfluxSink | null> {
  if (url === null) return null;
  const sink = createInfluxSink({
    writer: createInfluxWriter(settings, url),
    batchSize: settings.batchSize,
    flushIntervalMs: settings.flushInterval,
    maxQueuedPoints: settings.maxQueuedPoints,
    ...(queue ? { queue } : {}),
    ...(onRefused ? { onRefused } : {}),
    maxInFlight: settings.maxInFlight,
    metrics,
    log: log.child({ component: 'influx-sink' }),
  });
  await sink.start();
  return sink;
}

/** The writer for `influx.version`: one sink, so batching, spool, retry and readiness are the same for both. */
export function createInfluxWriter(settings: GatewayConfig['influx'], url: string): InfluxWriter {
  if (settings.version === 2) {
    const { org, bucket, token } = settings;
    // The schema requires them with version 2; a config built without it is a fault.
    if (!org || !bucket || !token)
      throw new GatewayError('config_invalid', 'influx.version 2 needs influx.org, influx.bucket and influx.token');
    return createInfluxV2Writer({ url, org, bucket, token, timeoutMs: settings.requestTimeout });
  }
  return createInfluxV1Writer({
    url,
    database: settings.database,
    username: settings.username,
    password: settings.password,
    timeoutMs: settings.requestTimeout,
    retentionMs: settings.retention === 'inf' ? null : settings.retention,
  });
}
