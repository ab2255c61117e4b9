import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { DeviceStatusBook } from '../devices/device-status.js';
import type { IngestService } from '../ingest/ingest-service.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createArrivalOrder } from './arrival-order.js';
import { type AuthenticateDeps, createAuthenticate, createPreConnect, isReservedForDevices } from './authenticate.js';
import type { TooLargePublish } from './connection-guard.js';
import { publishViolation } from './protocol-rules.js';
import { sessionOf } from './session.js';
import { filterCovers, topicMatches } from './topic-filter.js';

/** Refused PUBLISH are acknowledged but routed here, where nobody can subscribe (MQTT-3.3.5-2 positive-ack option). */
export const DROPPED_PREFIX = '$dropped/';

export interface BrokerDeps extends AuthenticateDeps {
  ingest: IngestService;
  deviceStatus: DeviceStatusBook;
  drainTimeout: number;
  /** In a cluster: message fan-out and persistence on Redis (absent: aedes's in-memory defaults). */
  shared?: Pick<AedesOptions, 'mq' | 'persistence'> | undefined;
  metrics: GatewayMetrics;
  log: Logger;
}

/** The errors aedes closes a connection with for a PUBLISH the protocol forbids (aedes/lib/handlers/publish.js). */
const AEDES_PROTOCOL_ERRORS: ReadonlySet<string> = new Set([
  'empty topic not allowed in PUBLISH',
  '# is not allowed in PUBLISH',
  '+ is not allowed in PUBLISH',
  'topic has too many levels',
]);

/** What authorizePublish asks of aedes's persistence: whether a QoS 2 PUBLISH of this packet id awaits its PUBREL. */
interface IncomingStore {
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
}

/**
 * The embedded aedes broker with the contract's rules: device credentials, a per-device topic ACL, and
 * every device PUBLISH handed to ingest inside `authorizePublish` — before the PUBACK is written, so the
 * durable store can later hold the acknowledgement until a reading is safe.
 */
export async function createBroker(deps: BrokerDeps): Promise<Aedes> {
  const { log, metrics } = deps;
  const arrival = createArrivalOrder<Client>();
  let incoming: IncomingStore;
  /** ClientIds let in over a connection of theirs still open: that connection's Last Will is not published. */
  const takenOver = new Set<string>();
  /** Per client, the QoS 2 duplicate check still asking the store: its later publishes are handed on after it. */
  const qos2Checks = new WeakMap<Client, Promise<void>>();
  const broker = await Aedes.createBroker({
    ...deps.shared,
    drainTimeout: deps.drainTimeout,
    connectTimeout: 10_000,
    // packets a client sends before its CONNACK (MQTT lets it: §3.1.4) are queued until then; aedes's default of 42
    // closed a device that pipelined a backlog after its CONNECT. Their bytes are bounded by mqtt.maxPreAuthBytes.
    queueLimit: 1_000,
    heartbeatInterval: 60_000,
    preConnect: createPreConnect(),
    authenticate: createAuthenticate({ ...deps, onTakeover: (clientId) => takenOver.add(clientId) }),
    authorizePublish(client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void) {
      const session = sessionOf(client);
      if (client && takenOver.has(client.id) && packet === (client as Client & { will?: unknown }).will) {
        // the Last Will of a connection a reconnect under its ClientId took over: the device is connected, not gone
        // (its "offline" would be recorded and retained while it reports); not published
        takenOver.delete(client.id);
        return done(new Error('the Last Will of a connection taken over'));
      }
      if (!session) {
        // A stored Last Will published after its client has gone: only status topics of known devices pass.
        return done(packet.topic.startsWith('$SYS/') ? new Error('$SYS is reserved') : null);
      }
      const violation = publishViolation(packet);
      if (violation) {
        // a topic of U+0000 or ill-formed UTF-8, packet id 0 at QoS > 0, DUP at QoS 0: close the connection
        metrics.mqttConnectionsClosed.inc({ reason: 'protocol_error' });
        log.info({ clientId: client?.id, violation }, 'connection closed by the gateway');
        return done(new Error(violation));
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      // a PUBLISH over mqtt.maxPacketBytes, read past by the connection guard: only its first bytes are here
      const { tooLarge } = packet as PublishPacket & { tooLarge?: TooLargePublish };
      const inTurn = arrival.next(client as Client);
      const receivedAt = deps.now();
      const handOn = (): void =>
        deps.ingest.handlePublish(
          { session, clientId: client?.id ?? null, topic: packet.topic, payload, receivedAt, ...(tooLarge ? { tooLarge } : {}) },
          (decision) =>
            inTurn(() => {
              if (decision === 'unavailable') return done(new Error('telemetry lane unavailable'));
              if (decision === 'drop') {
                packet.topic = DROPPED_PREFIX + packet.topic;
                packet.retain = false;
              }
              done(null);
            }),
        );
      const waiting = qos2Checks.get(client as Client);
      if (packet.qos !== 2 && waiting === undefined) return handOn();
      // MQTT-4.3.3-2: a QoS 2 PUBLISH sent again before its PUBREL (DUP, the same packet id) is the same message —
      // aedes answers PUBREC again without publishing it, and ingest does not take it a second time either. Asking
      // the store takes a turn: the client's publishes after it wait for it, so that ingest takes them in their order
      // (a newer reading judged first would make the older one late).
      const check: Promise<void> = (waiting ?? Promise.resolve())
        .then(() =>
          packet.qos === 2
            ? incoming.incomingGetPacket(client as Client, packet).then(
                () => true,
                () => false,
              )
            : false,
        )
        .then((duplicate) => {
          if (qos2Checks.get(client as Client) === check) qos2Checks.delete(client as Client);
          if (duplicate) inTurn(() => done(null));
          else handOn();
        });
      qos2Checks.set(client as Client, check);
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
            ? !isReservedForDevices(filter) &&
              deps.labMode.allow.some((allow) => filterCovers(allow, filter)) &&
              !deps.labMode.deny.some((deny) => topicMatches(deny, filter) || filterCovers(deny, filter))
            : false;
      if (!allowed || filter.startsWith(DROPPED_PREFIX.slice(0, -1))) {
        metrics.mqttAclDenied.inc({ action: 'subscribe' });
        log.info({ clientId: client.id, filter }, 'subscribe refused');
        return done(null, null);
      }
      done(null, subscription);
    },
    authorizeForward(client: Client, packet: AedesPublishPacket) {
      // Contract §1: topics under sites/ belong to registered devices; a lab client's wildcard does not reach them.
      return sessionOf(client)?.kind === 'lab' && isReservedForDevices(packet.topic) ? null : packet;
    },
  });

  // the broker's store of QoS 2 PUBLISHes awaiting their PUBREL (not in aedes's types)
  incoming = (broker as unknown as { persistence: IncomingStore }).persistence;
  broker.on('clientReady', (client) => {
    takenOver.delete(client.id);
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
  broker.on('clientError', (client, error) => {
    // what aedes itself closes a connection for (a wildcard in a PUBLISH topic, …): counted as the gateway's own are
    if (AEDES_PROTOCOL_ERRORS.has(error.message)) metrics.mqttConnectionsClosed.inc({ reason: 'protocol_error' });
    log.debug({ clientId: client?.id, err: error }, 'client error');
  });
  broker.on('connackSent', (packet: { returnCode?: number }) => {
    // aedes answers a protocol level it does not speak (MQTT 5) with CONNACK 1 and closes: counted as the guard's are
    if (packet.returnCode === 1) metrics.mqttConnectionsClosed.inc({ reason: 'protocol_version' });
  });
  broker.on('connectionError', (client, error) => log.debug({ clientId: client?.id, err: error }, 'connection error'));
  return broker;
}
