import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Admission } from './admission.js';
import type { ConnectThrottle } from './connect-throttle.js';
import { bindSession } from './session.js';
import { topicMatches } from './topic-filter.js';

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3 that the gateway uses. */
export const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_USERNAME_OR_PASSWORD: 4, NOT_AUTHORIZED: 5 } as const;

export type ConnectRefusal =
  | 'client_id'
  | 'client_id_taken'
  | 'max_connections'
  | 'device_connections'
  | 'anonymous'
  | 'unknown_device'
  | 'bad_credentials'
  | 'will_topic'
  | 'throttled_address'
  | 'throttled_device'
  | 'server_busy';

export interface AuthenticateDeps {
  registry: DeviceRegistry;
  verifySecret(secret: string, stored: string): Promise<boolean>;
  connectedClients(): number;
  maxConnections: number;
  /**
   * Open connections of one device (`dc-01`, `dc-01:{suffix}`), and whether a ClientId is connected now (a reconnect
   * under it takes that connection over: it opens none more). Absent: no limit per device.
   */
  perDevice?: { connections(device: string): number; connected(clientId: string): boolean; max: number };
  /** A device let in under a ClientId connected now: aedes closes that connection next (a takeover). */
  onTakeover?(clientId: string): void;
  labMode: { enabled: boolean; allow: readonly string[]; deny: readonly string[] };
  throttle: ConnectThrottle;
  /** Devices with good credentials wait here for their CONNACK while the telemetry lane is behind (admission.ts). */
  admission?: Admission;
  /**
   * A device's CONNECT waits for admission from `since`, until `connectDone` (gateway clock): its silence is not
   * counted for that wait (hold-watch.ts).
   */
  connectHolds?: { connectWaits(device: string, since: number): void; connectDone(device: string, until: number): void };
  now(): number;
  metrics: GatewayMetrics;
  log: Logger;
}

/**
 * Contract §1: a device's ClientId is its id, or `{deviceId}:{suffix}` for a second connection. Any other
 * ClientId could take over another device's session and fire its Last Will.
 */
export const clientIdBelongsTo = (clientId: string, deviceId: string): boolean =>
  clientId === deviceId || (clientId.length > deviceId.length + 1 && clientId.startsWith(deviceId) && clientId[deviceId.length] === ':');

/** The device id a ClientId names (`dc-01` of `dc-01:backup`). */
const deviceIdOf = (clientId: string): string => {
  const colon = clientId.indexOf(':');
  return colon === -1 ? clientId : clientId.slice(0, colon);
};

/** Where a connection comes from: the TCP/TLS socket, or the HTTP request that upgraded to WebSocket. */
export function remoteAddressOf(client: Client): string {
  const request = (client as Client & { req?: { socket?: { remoteAddress?: string } } }).req;
  const conn = client.conn as { remoteAddress?: string } | undefined;
  return request?.socket?.remoteAddress ?? conn?.remoteAddress ?? 'unknown';
}

const refusal = (returnCode: number, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError;

/** MQTT 3.1.1 [MQTT-3.1.3-8]: a zero-length ClientId with CleanSession=0 gets CONNACK 0x02 (aedes issue #1095). */
const emptyIdWithSession = new WeakSet<Client>();
/** An empty ClientId with CleanSession=1: the broker assigns a unique one, which can take over nobody. */
const serverAssignedId = new WeakSet<Client>();

/** Contract §1: everything under `sites/` belongs to registered devices, also in lab mode. */
export const isReservedForDevices = (topic: string): boolean => topic === 'sites' || topic.startsWith('sites/');

export function createPreConnect() {
  return (client: Client, packet: ConnectPacket, done: (error: Error | null, ok: boolean) => void): void => {
    if (!packet.clientId || packet.clientId.length === 0) (packet.clean === false ? emptyIdWithSession : serverAssignedId).add(client);
    done(null, true);
  };
}

export function createAuthenticate(deps: AuthenticateDeps) {
  const refuse = (
    client: Client,
    reason: ConnectRefusal,
    code: number,
    done: (error: AuthenticateError | null, ok: boolean | null) => void,
  ): void => {
    deps.metrics.mqttConnectRefused.inc({ reason });
    deps.log.info({ clientId: client.id, reason, returnCode: code }, 'connect refused');
    done(refusal(code, reason), false);
  };
  const full = (): boolean => deps.connectedClients() >= deps.maxConnections;

  return (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, ok: boolean | null) => void,
  ): void => {
    if (emptyIdWithSession.has(client)) {
      refuse(client, 'client_id', CONNACK.IDENTIFIER_REJECTED, done);
      return;
    }
    if (full()) {
      refuse(client, 'max_connections', CONNACK.SERVER_UNAVAILABLE, done);
      return;
    }
    const will = (client as Client & { _will?: { topic?: string } })._will;

    if (username === undefined || username === '') {
      if (!deps.labMode.enabled) {
        refuse(client, 'anonymous', CONNACK.NOT_AUTHORIZED, done);
        return;
      }
      if (
        will?.topic &&
        (isReservedForDevices(will.topic) || !deps.labMode.allow.some((filter) => topicMatches(filter, will.topic as string)))
      ) {
        refuse(client, 'will_topic', CONNACK.NOT_AUTHORIZED, done);
        return;
      }
      // A lab client must not wear a device's ClientId: it would take over that device's session.
      if (!serverAssignedId.has(client) && deps.registry.get(deviceIdOf(client.id))) {
        refuse(client, 'client_id_taken', CONNACK.IDENTIFIER_REJECTED, done);
        return;
      }
      bindSession(client, { kind: 'lab' });
      deps.log.warn({ clientId: client.id }, 'lab-mode anonymous client connected');
      done(null, true);
      return;
    }

    const address = remoteAddressOf(client);
    const device = deps.registry.get(username);
    const throttled = deps.throttle.blocked(address, username, deps.now());
    if (throttled) {
      refuse(client, throttled === 'address' ? 'throttled_address' : 'throttled_device', CONNACK.SERVER_UNAVAILABLE, done);
      return;
    }
    if (!device) {
      deps.throttle.failed(address, username, deps.now());
      refuse(client, 'unknown_device', CONNACK.BAD_USERNAME_OR_PASSWORD, done);
      return;
    }
    const secret = password?.toString('utf8') ?? '';
    deps.verifySecret(secret, device.secretHash).then(
      (ok) => {
        if (!ok) {
          deps.throttle.failed(address, device.id, deps.now());
          refuse(client, 'bad_credentials', CONNACK.BAD_USERNAME_OR_PASSWORD, done);
          return;
        }
        if (!serverAssignedId.has(client) && !clientIdBelongsTo(client.id, device.id)) {
          refuse(client, 'client_id_taken', CONNACK.IDENTIFIER_REJECTED, done);
          return;
        }
        // one device (a leaked secret, firmware adding a fresh suffix at each reconnect over half-open sockets) does not
        // take every connection slot of the fleet
        const perDevice = deps.perDevice;
        if (perDevice && !perDevice.connected(client.id) && perDevice.connections(device.id) >= perDevice.max) {
          refuse(client, 'device_connections', CONNACK.SERVER_UNAVAILABLE, done);
          return;
        }
        if (will?.topic && !will.topic.startsWith(device.topicPrefix)) {
          refuse(client, 'will_topic', CONNACK.NOT_AUTHORIZED, done);
          return;
        }
        const letIn = (): void => {
          bindSession(client, { kind: 'device', device });
          if (deps.perDevice?.connected(client.id)) deps.onTakeover?.(client.id);
          done(null, true);
        };
        if (!deps.admission) return letIn();
        deps.connectHolds?.connectWaits(device.id, deps.now());
        deps.admission.admit(
          (admitted) => {
            deps.connectHolds?.connectDone(device.id, deps.now());
            // gone while it waited: nothing to answer
            if (client.closed) return;
            if (!admitted) return refuse(client, 'server_busy', CONNACK.SERVER_UNAVAILABLE, done);
            // others may have connected while it was held
            if (full()) return refuse(client, 'max_connections', CONNACK.SERVER_UNAVAILABLE, done);
            letIn();
          },
          () => client.closed,
        );
      },
      (error: unknown) => {
        deps.log.error({ err: error, device: device.id }, 'secret verification failed');
        refuse(client, 'bad_credentials', CONNACK.SERVER_UNAVAILABLE, done);
      },
    );
  };
}
