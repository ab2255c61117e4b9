import type { Client } from 'aedes';
import type { RegisteredDevice } from '../devices/device-registry.js';

/** Who is behind an MQTT connection, decided at CONNECT. */
export type ClientSession = { kind: 'device'; device: RegisteredDevice } | { kind: 'lab' };

const sessions = new WeakMap<Client, ClientSession>();

export const sessionOf = (client: Client | null): ClientSession | undefined => (client ? sessions.get(client) : undefined);
export const bindSession = (client: Client, session: ClientSession): void => {
  sessions.set(client, session);
};
