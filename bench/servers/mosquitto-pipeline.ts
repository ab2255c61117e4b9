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
import { createAlarmService } from '../../gateway/src/alarms/alarm-service.js';
import { validateConfig } from '../../gateway/src/config/load-config.js';
import { createDeviceRegistry } from '../../gateway/src/devices/device-registry.js';
import { createDeviceStatusBook } from '../../gateway/src/devices/device-status.js';
import { createIngestService } from '../../gateway/src/ingest/ingest-service.js';
import { createQuarantine } from '../../gateway/src/ingest/quarantine.js';
import { parseDeviceTopic } from '../../gateway/src/ingest/topics.js';
import { laneConfigOf } from '../../gateway/src/lane/build-lane-core.js';
import { createInlineLane } from '../../gateway/src/lane/inline-lane.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../../gateway/src/observability/metrics.js';
import { freePort } from '../../gateway/src/sinks/influx/local-influxd.js';
import { createAlarmBook } from '../../rules/src/index.js';
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
