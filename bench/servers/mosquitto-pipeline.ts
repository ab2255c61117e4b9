/**
 * The peer: "what a user would build instead". Debian's Mosquitto as the broker (its own process) and a
 * subscriber process — an MQTT.js client on `sites/+/devices/+/telemetry` — running the same validate →
 * rules → batched InfluxDB pipeline, assembled from the project's own parts so that only the broker and
 * the extra hop differ. Mosquitto runs anonymous, without persistence, with no queue limit so that it
 * does not drop QoS 1 for the subscriber (its default of 1000 would).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { monotonicFactory } from 'ulid';
import { built } from '../lib/built.js';
import { childRuntime } from '../lib/child.js';
import { counterTotal, cpuSeconds, expectationHandlers } from '../lib/counters.js';
import type { DeviceGroup } from './gateway-server.js';

export interface MosquittoPipelineArgs {
  mosquitto: string;
  influxUrl: string;
  database: string;
  groups: DeviceGroup[];
  /** QoS of the subscription. */
  qos: 0 | 1;
}

// the pipeline's parts as they ship (dist/): lib/built.ts
const { createAlarmService } = await built<typeof import('../../gateway/src/alarms/alarm-service.js')>(
  'gateway/src/alarms/alarm-service.js',
);
const { validateConfig } = await built<typeof import('../../gateway/src/config/load-config.js')>('gateway/src/config/load-config.js');
const { createDeviceRegistry } = await built<typeof import('../../gateway/src/devices/device-registry.js')>(
  'gateway/src/devices/device-registry.js',
);
const { createDeviceStatusBook } = await built<typeof import('../../gateway/src/devices/device-status.js')>(
  'gateway/src/devices/device-status.js',
);
const { createIngestService } = await built<typeof import('../../gateway/src/ingest/ingest-service.js')>(
  'gateway/src/ingest/ingest-service.js',
);
const { createQuarantine } = await built<typeof import('../../gateway/src/ingest/quarantine.js')>('gateway/src/ingest/quarantine.js');
const { parseDeviceTopic } = await built<typeof import('../../gateway/src/ingest/topics.js')>('gateway/src/ingest/topics.js');
const { laneConfigOf } = await built<typeof import('../../gateway/src/lane/build-lane-core.js')>('gateway/src/lane/build-lane-core.js');
const { createInlineLane } = await built<typeof import('../../gateway/src/lane/inline-lane.js')>('gateway/src/lane/inline-lane.js');
const { createLogger } = await built<typeof import('../../gateway/src/observability/logger.js')>('gateway/src/observability/logger.js');
const { createGatewayMetrics } = await built<typeof import('../../gateway/src/observability/metrics.js')>(
  'gateway/src/observability/metrics.js',
);
const { freePort } = await built<typeof import('../../gateway/src/sinks/influx/local-influxd.js')>(
  'gateway/src/sinks/influx/local-influxd.js',
);
const { createAlarmBook } = await built<typeof import('../../rules/src/index.js')>('rules/src/index.js');

const runtime = childRuntime<MosquittoPipelineArgs>();
const { args } = runtime;
const log = createLogger('warn');

// ---- the broker ----
const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
const port = await freePort();
writeFileSync(
  join(dir, 'mosquitto.conf'),
  [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', 'log_dest none', ''].join('\n'),
);
const broker = spawn(args.mosquitto, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
process.on('exit', () => broker.kill('SIGKILL'));

// ---- the subscriber's pipeline ----
const metrics = createGatewayMetrics();
const newId = monotonicFactory();
const registry = createDeviceRegistry(
  args.groups.flatMap((group) =>
    Array.from({ length: group.count }, (_, i) => ({
      id: `${group.prefix}${i}`,
      site: group.site,
      profile: 'dust-collector',
      secretHash: group.secretHash,
      attributes: {},
    })),
  ),
);
const deviceStatus = createDeviceStatusBook();
const alarms = createAlarmService({
  book: createAlarmBook({ newAlarmId: () => `alm_${newId()}` }),
  now: Date.now,
  newEventId: () => `evt_${newId()}`,
  metrics,
  log,
});
// The gateway's own lane on the subscriber's event loop, with the gateway's default batching (5,000 points, 500 ms).
// Its own store, like the gateway under test: the spool and the de-duplication window are part of the work.
const config = validateConfig(
  {
    influx: { mode: 'url', url: args.influxUrl, database: args.database },
    dataDir: mkdtempSync(join(tmpdir(), 'bench-mosquitto-pipeline-')),
    logLevel: 'warn',
  },
  '(bench)',
);
const lane = await createInlineLane(
  { config: laneConfigOf(config), influxUrl: args.influxUrl },
  registry,
  { alarmChanges: (changes) => alarms.apply(changes), readingStored: deviceStatus.readingStored },
  metrics,
  log,
  (error) => {
    log.fatal({ err: error }, 'telemetry lane failed');
    process.exit(1);
  },
);
alarms.onEvent((event) => lane.writeAlarmEvent(event));
await lane.start(Date.now());
const ingest = createIngestService({
  registry,
  labMode: { allow: [], deny: [] },
  lane,
  quarantine: createQuarantine({ size: 1_000, perDevice: 100 }),
  deviceStatus,
  metrics,
  log,
});
const ticker = setInterval(() => {
  lane.tick(Date.now());
  alarms.tick(Date.now());
}, 250);

let unknown = 0;
const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
  clientId: 'pipeline',
  clean: true,
  reconnectPeriod: 200,
  connectTimeout: 10_000,
});
client.on('message', (topic, payload) => {
  const device = registry.get(parseDeviceTopic(topic)?.device ?? '');
  if (!device) {
    unknown += 1;
    return;
  }
  ingest.handlePublish(
    { session: { kind: 'device', device }, clientId: device.id, topic, payload, receivedAt: Date.now() },
    () => undefined,
  );
});
await client.subscribeAsync('sites/+/devices/+/telemetry', { qos: args.qos });

const accepted = () => counterTotal(metrics.readingsAccepted);
const written = () => counterTotal(metrics.sinkWritten, { sink: 'influxdb' });

runtime.serve({
  ...expectationHandlers({
    accepted,
    stored: written,
  }),
  stats: async () => ({
    rss: process.memoryUsage().rss,
    cpuSeconds: cpuSeconds(),
    accepted: await accepted(),
    written: await written(),
    unknown,
    rejected: (await metrics.rejections.get()).values.reduce((sum, v) => sum + v.value, 0),
  }),
  close: async () => {
    clearInterval(ticker);
    await client.endAsync();
    await lane.close();
    broker.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  },
});
runtime.ready({ port, brokerPid: broker.pid });
