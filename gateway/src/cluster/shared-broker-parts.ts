import { createRequire } from 'node:module';
import type { AedesOptions } from 'aedes';
import { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
// CommonJS packages; aedes-persistence-redis ships no types (aedes types its `persistence` option as any).
const mqemitterRedis = require('mqemitter-redis') as (options: {
  subConn: Redis;
  pubConn: Redis;
}) => NonNullable<AedesOptions['mq']> & { state: { on(event: 'error', listener: (error: Error) => void): void } };
const aedesPersistenceRedis = require('aedes-persistence-redis') as (options: { conn: Redis }) => unknown;

/** The broker's shared parts on Redis, and how they stand. */
export interface SharedBrokerParts {
  /** For `Aedes.createBroker`: message fan-out and persistence on Redis. */
  options: Pick<AedesOptions, 'mq' | 'persistence'>;
  /** Null while every Redis connection is ready; otherwise which are not and why. */
  trouble(): string | null;
  /** Closes the connections aedes does not close itself (aedes closes `mq` and the persistence on `broker.close`). */
  close(): void;
}

/**
 * One MQTT namespace across nodes: `mqemitter-redis` carries every PUBLISH to the nodes whose clients subscribed, and
 * `aedes-persistence-redis` keeps sessions, subscriptions, retained messages, wills and QoS 1 messages in flight.
 * Three connections (the emitter's subscriber and publisher, the persistence's), each with ioredis's defaults for
 * reconnecting: while Redis is away, commands wait in its offline queue and fail after its retries.
 */
export function createSharedBrokerParts(redisUrl: string): SharedBrokerParts {
  const connections = {
    'mq subscriber': new Redis(redisUrl),
    'mq publisher': new Redis(redisUrl),
    persistence: new Redis(redisUrl),
  };
  const errors = new Map<string, string>();
  for (const [name, connection] of Object.entries(connections)) {
    connection.on('error', (error: Error) => errors.set(name, error.message));
    connection.on('ready', () => errors.delete(name));
  }
  const mq = mqemitterRedis({ subConn: connections['mq subscriber'], pubConn: connections['mq publisher'] });
  // The emitter re-emits its connections' errors on `state`: unheard, one Redis restart would end the process.
  // The connections reconnect by themselves; `trouble()` reports them meanwhile.
  mq.state.on('error', () => {});
  return {
    options: {
      mq,
      persistence: aedesPersistenceRedis({ conn: connections.persistence }),
    },
    trouble() {
      const down = Object.entries(connections)
        .filter(([, connection]) => connection.status !== 'ready')
        .map(([name, connection]) => `${name} ${connection.status}${errors.has(name) ? ` (${errors.get(name)})` : ''}`);
      return down.length > 0 ? `redis: ${down.join(', ')}` : null;
    },
    close() {
      for (const connection of Object.values(connections)) connection.disconnect();
    },
  };
}
