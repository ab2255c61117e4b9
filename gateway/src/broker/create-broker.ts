import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { DeviceStatusBook } from '../devices/device-status.js';
import type { IngestService } from '../ingest/ingest-service.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { type AuthenticateDeps, createAuthenticate, createPreConnect } from './authenticate.js';
import { sessionOf } from './session.js';
import { filterCovers, topicMatches } from './topic-filter.js';

/** Refused PUBLISH are acknowledged but routed here, where nobody can subscribe (MQTT-3.3.5-2 positive-ack option). */
export const DROPPED_PREFIX = '$dropped/';

export interface BrokerDeps extends AuthenticateDeps {
  ingest: IngestService;
  deviceStatus: DeviceStatusBook;
  drainTimeout: number;
  now(): number;
  metrics: GatewayMetrics;
  log: Logger;
}

/**
 * The embedded aedes broker with the contract's rules: device credentials, a per-device topic ACL, and
 * every device PUBLISH handed to ingest inside `authorizePublish` — before the PUBACK is written, so the
 * durable store can later hold the acknowledgement until a reading is safe.
 */
export async function createBroker(deps: BrokerDeps): Promise<Aedes> {
  const { log, metrics } = deps;
  const broker = await Aedes.createBroker({
    drainTimeout: deps.drainTimeout,
    connectTimeout: 10_000,
    heartbeatInterval: 60_000,
    preConnect: createPreConnect(),
    authenticate: createAuthenticate(deps),
    authorizePublish(client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void) {
      const session = sessionOf(client);
      if (!session) {
        // A stored Last Will published after its client has gone: only status topics of known devices pass.
        return done(packet.topic.startsWith('$SYS/') ? new Error('$SYS is reserved') : null);
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      deps.ingest.handlePublish(
        { session, clientId: client?.id ?? null, topic: packet.topic, payload, receivedAt: deps.now() },
        (decision) => {
          if (decision === 'unavailable') return done(new Error('telemetry pipeline unavailable'));
          if (decision === 'drop') {
            packet.topic = DROPPED_PREFIX + packet.topic;
            packet.retain = false;
          }
          done(null);
        },
      );
    },
    authorizeSubscribe(
      client: Client,
      subscription: Subscription,
      done: (error: Error | null, subscription?: Subscription | null) => void,
    ) {
      const session = sessionOf(client);
      const filter = subscription.topic;
      const allowed =
        session?.kind === 'device'
          ? filterCovers(`${session.device.topicPrefix}cmd/#`, filter)
          : session?.kind === 'lab'
            ? deps.labMode.allow.some((allow) => filterCovers(allow, filter)) &&
              !deps.labMode.deny.some((deny) => topicMatches(deny, filter) || filterCovers(deny, filter))
            : false;
      if (!allowed || filter.startsWith(DROPPED_PREFIX.slice(0, -1))) {
        metrics.mqttAclDenied.inc({ action: 'subscribe', client: session?.kind === 'device' ? session.device.id : 'lab' });
        log.info({ clientId: client.id, filter }, 'subscribe refused');
        return done(null, null);
      }
      done(null, subscription);
    },
  });

  broker.on('clientReady', (client) => {
    metrics.mqttConnections.set(broker.connectedClients);
    const session = sessionOf(client);
    if (session?.kind === 'device') deps.deviceStatus.connected(session.device.id, deps.now());
    log.debug({ clientId: client.id }, 'client connected');
  });
  broker.on('clientDisconnect', (client) => {
    metrics.mqttConnections.set(broker.connectedClients);
    const session = sessionOf(client);
    if (session?.kind === 'device') deps.deviceStatus.disconnected(session.device.id);
    log.debug({ clientId: client.id }, 'client disconnected');
  });
  broker.on('clientError', (client, error) => log.debug({ clientId: client?.id, err: error }, 'client error'));
  broker.on('connectionError', (client, error) => log.debug({ clientId: client?.id, err: error }, 'connection error'));
  return broker;
}
