import { join } from 'node:path';
import type { Aedes } from 'aedes';
import { monotonicFactory } from 'ulid';
import { PROFILES } from '../../profiles/index.js';
import { createAlarmBook } from '../../rules/src/index.js';
import { type AlarmService, createAlarmService } from './alarms/alarm-service.js';
import { createBroker } from './broker/create-broker.js';
import { type MqttListener, startMqttListeners } from './broker/listeners.js';
import type { GatewayConfig } from './config/config-schema.js';
import { createDeviceRegistry, type DeviceRegistry } from './devices/device-registry.js';
import { createDeviceStatusBook } from './devices/device-status.js';
import { createSecretVerifier } from './devices/secret-hash.js';
import { createHttpServer, type HttpServer } from './http/http-server.js';
import type { ReadinessCheck } from './http/routes/health-routes.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createQuarantine, type Quarantine } from './ingest/quarantine.js';
import { createRecorder } from './ingest/recorder.js';
import { createSeqWindow } from './ingest/seq-window.js';
import type { Logger } from './observability/logger.js';
import { createGatewayMetrics, type GatewayMetrics } from './observability/metrics.js';
import { createReadingPipeline, type ReadingPipeline } from './pipeline/reading-pipeline.js';
import { loadRuleSetOrThrow } from './rule-files/load-rule-files.js';
import { createProfileRuleEngine } from './rule-files/profile-engine.js';
import { createRuleReloader, type ReloadResult } from './rule-files/rule-reloader.js';
import { createInfluxSink, type InfluxSink } from './sinks/influx/influx-sink.js';
import { createInfluxV1Writer } from './sinks/influx/influx-writer.js';
import { findInfluxd, type LocalInfluxd, startLocalInfluxd } from './sinks/influx/local-influxd.js';
import { createLiveFeed, type LiveFeed } from './sinks/live-feed/live-feed.js';
import { createWebhookSink, type WebhookSink } from './sinks/webhook/webhook-sink.js';

export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
  /** The clock; tests may pass their own. */
  now?: () => number;
}

/** A started gateway: where it listens, its parts (for the API, tests and the demo), and `close()`. */
export interface RunningGateway {
  mqttUrl: string;
  httpUrl: string;
  listeners: MqttListener[];
  influx: { url: string | null; disabledReason: string | null };
  broker: Aedes;
  alarms: AlarmService;
  liveFeed: LiveFeed;
  webhooks: WebhookSink;
  influxSink: InfluxSink | null;
  pipeline: ReadingPipeline;
  quarantine: Quarantine;
  registry: DeviceRegistry;
  metrics: GatewayMetrics;
  http: HttpServer;
  readiness(): ReadinessCheck[];
  /** Re-reads and validates the rule files and swaps them in; a rejected set leaves the old one running. */
  reloadRules(): ReloadResult;
  /** Waits until accepted readings are evaluated and every sink has delivered what it holds. */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface InfluxSetup {
  sink: InfluxSink | null;
  url: string | null;
  disabledReason: string | null;
  local: LocalInfluxd | null;
}

async function setUpInflux(config: GatewayConfig, metrics: GatewayMetrics, log: Logger): Promise<InfluxSetup> {
  const settings = config.influx;
  if (settings.mode === 'off') return { sink: null, url: null, disabledReason: 'influx.mode is off', local: null };
  let url = settings.url;
  let local: LocalInfluxd | null = null;
  if (settings.mode === 'auto') {
    if (!findInfluxd()) {
      const reason = 'no InfluxDB configured and no influxd installed (apt-get install influxdb); telemetry is not stored';
      log.warn({ reason }, 'influxdb writes disabled');
      return { sink: null, url: null, disabledReason: reason, local: null };
    }
    try {
      local = await startLocalInfluxd({ dataDir: join(config.dataDir, 'influxd') });
      url = local.url;
      log.info({ url }, 'local influxd started');
    } catch (error) {
      const reason = `local influxd failed to start: ${(error as Error).message.split('\n')[0]}`;
      log.warn({ err: error }, 'influxdb writes disabled');
      return { sink: null, url: null, disabledReason: reason, local: null };
    }
  }
  const writer = createInfluxV1Writer({
    url,
    database: settings.database,
    username: settings.username,
    password: settings.password,
    timeoutMs: settings.requestTimeout,
  });
  const sink = createInfluxSink({
    writer,
    batchSize: settings.batchSize,
    flushIntervalMs: settings.flushInterval,
    maxQueuedPoints: settings.maxQueuedPoints,
    metrics,
    log: log.child({ component: 'influx-sink' }),
  });
  await sink.start();
  return { sink, url, disabledReason: null, local };
}

/** The composition of every part; `main.ts` reads the environment and calls this. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const newId = monotonicFactory();
  const metrics = createGatewayMetrics();
  const registry = createDeviceRegistry(config.devices);
  const deviceStatus = createDeviceStatusBook();
  const quarantine = createQuarantine(config.quarantine.size);

  const engine = createProfileRuleEngine(PROFILES, loadRuleSetOrThrow(PROFILES, config.rules));

  const alarms = createAlarmService({
    book: createAlarmBook({ newAlarmId: () => `alm_${newId()}` }),
    now,
    newEventId: () => `evt_${newId()}`,
    metrics,
    log: log.child({ component: 'alarms' }),
    acknowledged: (key, at) => engine.acknowledge(key, at),
  });

  const influx = await setUpInflux(config, metrics, log);
  const webhooks = createWebhookSink({
    subscribers: config.webhooks,
    now,
    newId: () => `dlq_${newId()}`,
    metrics,
    log: log.child({ component: 'webhooks' }),
  });
  const liveFeed = createLiveFeed({ ringSize: config.liveFeed.ringSize, metrics, initialCursor: now() * 1_000 });
  alarms.onEvent((event) => liveFeed.publish(event));
  alarms.onEvent((event) => webhooks.deliver(event));
  if (influx.sink) {
    const sink = influx.sink;
    alarms.onEvent((event) => sink.writeAlarmEvent(event));
  }

  const pipeline = createReadingPipeline({
    engine,
    registry,
    alarms,
    deviceStatus,
    storeTelemetry: influx.sink ? influx.sink.writeTelemetry : () => undefined,
    metrics,
    log: log.child({ component: 'pipeline' }),
  });
  const recorder = config.recording.enabled ? createRecorder(config.recording.path) : undefined;
  const ingest = createIngestService({
    recorder,
    registry,
    profiles: PROFILES,
    maxPayloadBytes: config.mqtt.maxPayloadBytes,
    labMode: config.mqtt.labMode,
    seqWindow: createSeqWindow(),
    quarantine,
    deviceStatus,
    metrics,
    log: log.child({ component: 'ingest' }),
    accept: (readings) => pipeline.enqueue(readings),
  });

  const brokerLog = log.child({ component: 'broker' });
  const broker = await createBroker({
    registry,
    verifySecret: createSecretVerifier(),
    connectedClients: () => broker.connectedClients,
    maxConnections: config.mqtt.maxConnections,
    labMode: config.mqtt.labMode,
    ingest,
    deviceStatus,
    drainTimeout: config.mqtt.drainTimeout,
    now,
    metrics,
    log: brokerLog,
  });
  if (config.mqtt.labMode.enabled) {
    brokerLog.warn({ allow: config.mqtt.labMode.allow, deny: config.mqtt.labMode.deny }, 'LAB MODE: anonymous MQTT clients are accepted');
  }
  // Devices that never send anything must still go silent: their silence rules run from start-up.
  alarms.apply(
    engine.registerDevices(
      [...registry.all()].map((device) => device.context),
      now(),
    ),
  );
  const reloadRules = createRuleReloader({
    profiles: PROFILES,
    extraFiles: config.rules,
    engine,
    alarms,
    now,
    log: log.child({ component: 'rules' }),
  });

  const listeners = await startMqttListeners(broker, config.mqtt);
  const ticker = setInterval(() => pipeline.tick(now()), config.tickInterval);
  ticker.unref();

  const readiness = (): ReadinessCheck[] => {
    const checks: ReadinessCheck[] = [
      { name: 'mqtt', ready: listeners.length > 0 && !broker.closed, reason: broker.closed ? 'broker closed' : null },
    ];
    if (influx.sink) checks.push(influx.sink.status());
    else checks.push({ name: 'influxdb', ready: true, reason: `disabled: ${influx.disabledReason}` });
    const hooks = webhooks.status();
    checks.push({ name: hooks.name, ready: hooks.ready, reason: hooks.reason });
    return checks;
  };

  const http = await createHttpServer({
    tokens: config.api.tokens,
    metricsPublic: config.api.metricsPublic,
    metrics: metrics.registry,
    readiness,
    alarms,
    liveFeed,
    registry,
    deviceStatus,
    quarantine,
    webhooks,
    reloadRules,
    log: log.child({ component: 'http' }),
  });
  const httpAddress = await http.start(config.http.host, config.http.port);
  const httpUrl = httpAddress.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  const mqttUrl = (listeners[0] as MqttListener).url;
  log.info(
    { mqtt: listeners.map((l) => l.url), http: httpUrl, influx: influx.url ?? `disabled (${influx.disabledReason})` },
    'gateway started',
  );

  let closing: Promise<void> | null = null;
  return {
    mqttUrl,
    httpUrl,
    listeners,
    influx: { url: influx.url, disabledReason: influx.disabledReason },
    broker,
    alarms,
    liveFeed,
    webhooks,
    influxSink: influx.sink,
    pipeline,
    quarantine,
    registry,
    metrics,
    http,
    readiness,
    reloadRules,
    async settle(timeoutMs = 10_000) {
      await pipeline.drain();
      await Promise.all([influx.sink?.flush(), webhooks.idle(timeoutMs)]);
    },
    close() {
      closing ??= (async () => {
        log.info('gateway stopping');
        clearInterval(ticker);
        await http.close();
        // Stop accepting first; the listeners finish closing once the broker has disconnected every client.
        const listenersClosed = Promise.all(listeners.map((listener) => listener.close()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await listenersClosed;
        await pipeline.drain();
        await webhooks.close();
        await influx.sink?.close();
        await recorder?.close();
        await influx.local?.stop();
        log.info('gateway stopped');
      })();
      return closing;
    },
  };
}
