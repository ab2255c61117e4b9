import { Writable } from 'node:stream';
import type { Aedes } from 'aedes';
import type { Counter } from 'prom-client';
import { type AdmissionLimits, createAdmission } from '../../gateway/src/broker/admission.js';
import { type ConnectThrottleLimits, createConnectThrottle } from '../../gateway/src/broker/connect-throttle.js';
import { type ConnectionLimits, guardedHandle } from '../../gateway/src/broker/connection-guard.js';
import { type BrokerDeps, createBroker } from '../../gateway/src/broker/create-broker.js';
import { type MqttListener, startMqttListeners } from '../../gateway/src/broker/listeners.js';
import { validateConfig } from '../../gateway/src/config/load-config.js';
import { createDeviceRegistry } from '../../gateway/src/devices/device-registry.js';
import { createDeviceStatusBook, type DeviceStatusBook } from '../../gateway/src/devices/device-status.js';
import { createSecretVerifier, hashSecret } from '../../gateway/src/devices/secret-hash.js';
import type { DevicePublish, PublishDecision } from '../../gateway/src/ingest/ingest-service.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { createGatewayMetrics, type GatewayMetrics } from '../../gateway/src/observability/metrics.js';

export interface InProcessBrokerOptions {
  labMode?: { enabled: boolean; allow: string[]; deny: string[] };
  maxConnections?: number;
  throttle?: ConnectThrottleLimits;
  limits?: ConnectionLimits;
  /** What ingest answers each device PUBLISH (default accept). */
  /** What ingest decides for a PUBLISH: at once, or later (a promise: a verdict that waits for the lane). */
  decide?: (publish: DevicePublish) => PublishDecision | Promise<PublishDecision>;
  verifySecret?: (secret: string, stored: string) => Promise<boolean>;
  /** The gateway's clock (default 0, advanced by tests through `clock.now`). */
  clock?: { now: number };
  /** Admission (mqtt.admission) over a lane whose delay the test sets; none when absent. */
  admission?: AdmissionLimits & { laneDelay(): number };
  /** Told of each CONNECT that waits for admission and when its wait ends (the hold watch, in the gateway). */
  connectHolds?: BrokerDeps['connectHolds'];
}

export interface InProcessBroker {
  url: string;
  broker: Aedes;
  listeners: MqttListener[];
  metrics: GatewayMetrics;
  deviceStatus: DeviceStatusBook;
  /** Every PUBLISH the broker handed to ingest. */
  published: DevicePublish[];
  /** The broker's log lines (debug and up), parsed. */
  logs: Array<Record<string, unknown>>;
  /** A counter's value for one label set (0 when never counted). */
  count(counter: Counter<string>, labels: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Devices of site-a, each with the secret `secret-<id>`. */
export const DEVICES = ['dc-01', 'dc-02'] as const;

/**
 * The gateway's MQTT front (createBroker + guardedHandle + a TCP listener on 127.0.0.1, port 0) in this
 * process, as gateway.ts wires it, with an ingest that answers `decide`: milliseconds per connection.
 */
export async function startInProcessBroker(options: InProcessBrokerOptions = {}): Promise<InProcessBroker> {
  const devices = await Promise.all(
    DEVICES.map(async (id) => ({ id, site: 'site-a', profile: 'dust-collector', secretHash: await hashSecret(`secret-${id}`) })),
  );
  const registry = createDeviceRegistry(validateConfig({ influx: { mode: 'off' }, devices }, '(test)').devices);
  const metrics = createGatewayMetrics({ processMetrics: false });
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const log = createLogger('debug', sink);
  const deviceStatus = createDeviceStatusBook();
  const published: DevicePublish[] = [];
  const clock = options.clock ?? { now: 0 };
  const admission = options.admission
    ? createAdmission({ laneDelay: options.admission.laneDelay, holding: (n) => metrics.mqttConnectsHeld.set(n) }, options.admission)
    : undefined;
  const broker = await createBroker({
    ...(admission ? { admission } : {}),
    ...(options.connectHolds ? { connectHolds: options.connectHolds } : {}),
    registry,
    verifySecret: options.verifySecret ?? createSecretVerifier(),
    connectedClients: () => broker.connectedClients,
    maxConnections: options.maxConnections ?? 100,
    labMode: options.labMode ?? { enabled: false, allow: ['lab/#'], deny: [] },
    throttle: createConnectThrottle(options.throttle ?? { windowMs: 60_000, maxFailuresPerAddress: 60, maxFailuresPerDevice: 10 }),
    ingest: {
      handlePublish(publish, decided) {
        published.push(publish);
        const decision = options.decide?.(publish) ?? 'accept';
        if (typeof decision === 'string') decided(decision);
        else void decision.then(decided);
      },
    },
    deviceStatus,
    drainTimeout: 1_000,
    now: () => clock.now,
    metrics,
    log,
  });
  const limits = options.limits ?? { maxPreAuthBytes: 64 * 1024, maxPacketBytes: 1024 * 1024 };
  const mqtt = validateConfig({ influx: { mode: 'off' }, mqtt: { tcp: { host: '127.0.0.1', port: 0 } } }, '(test)').mqtt;
  const listeners = await startMqttListeners(guardedHandle(broker, { limits, metrics, log }), mqtt);
  return {
    url: (listeners[0] as MqttListener).url,
    broker,
    listeners,
    metrics,
    deviceStatus,
    published,
    logs,
    async count(counter, labels) {
      const values = (await counter.get()).values;
      return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value ?? 0;
    },
    async close() {
      const closed = Promise.all(listeners.map((listener) => listener.close()));
      admission?.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
    },
  };
}
