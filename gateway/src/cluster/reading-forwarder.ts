import { Redis } from 'ioredis';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { type LaneVerdict, UNAVAILABLE } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';

/** Judges a payload forwarded by another node: `decided` exactly once. */
export type ForwardedJudge = (deviceId: string, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void) => void;

/**
 * Hands a device's PUBLISH from the node it is connected to to the node that owns its site, and the owner's verdict
 * back, over Redis pub/sub (each node listens on its own channel). The connected node answers the PUBACK only with
 * the owner's verdict — given after the owner's commit — so an acknowledgement still means durable; no verdict
 * within `timeoutMs` (the owner died, Redis is away) is `unavailable`: no PUBACK, the device sends it again.
 */
export interface ReadingForwarder {
  /** Listens for payloads forwarded to this node, judged by `judge`. */
  start(judge: ForwardedJudge): Promise<void>;
  forward(owner: string, device: RegisteredDevice, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void): void;
  /** Payloads forwarded and not yet answered. */
  inFlight(): number;
  close(): void;
}

export interface ReadingForwarderSettings {
  /** Counts each forwarded PUBLISH by how it ended (`gateway_cluster_forwarded_total`). */
  counted(outcome: 'judged' | 'unavailable'): void;
  redisUrl: string;
  keyPrefix: string;
  nodeId: string;
  timeoutMs: number;
  log: Logger;
}

type Message =
  | { t: 'reading'; id: number; from: string; device: string; payload: string; at: number }
  | { t: 'verdict'; id: number; verdict: LaneVerdict };

export function createReadingForwarder(settings: ReadingForwarderSettings): ReadingForwarder {
  const { log } = settings;
  const subscriber = new Redis(settings.redisUrl, { lazyConnect: true });
  const publisher = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  subscriber.on('error', () => {});
  publisher.on('error', () => {});
  const channelOf = (node: string) => `${settings.keyPrefix}node:${node}`;
  const pending = new Map<number, { decided: (verdict: LaneVerdict) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;

  const settle = (id: number, verdict: LaneVerdict): void => {
    const waiting = pending.get(id);
    if (!waiting) return; // answered after its time: the device was told `unavailable` already
    pending.delete(id);
    clearTimeout(waiting.timer);
    settings.counted(verdict.unavailable ? 'unavailable' : 'judged');
    waiting.decided(verdict);
  };
  const send = (node: string, message: Message): Promise<unknown> => publisher.publish(channelOf(node), JSON.stringify(message));

  return {
    async start(judge) {
      await Promise.all([subscriber.connect(), publisher.connect()]);
      subscriber.on('message', (_channel: string, text: string) => {
        let message: Message;
        try {
          message = JSON.parse(text) as Message;
        } catch {
          return;
        }
        if (message.t === 'verdict') return settle(message.id, message.verdict);
        const { id, from } = message;
        judge(message.device, Buffer.from(message.payload, 'base64'), message.at, (verdict) => {
          send(from, { t: 'verdict', id, verdict }).catch((error: Error) => log.warn({ err: error, to: from }, 'verdict not sent back'));
        });
      });
      await subscriber.subscribe(channelOf(settings.nodeId));
    },
    forward(owner, device, payload, receivedAt, decided) {
      const id = nextId++;
      const timer = setTimeout(() => settle(id, UNAVAILABLE), settings.timeoutMs);
      timer.unref();
      pending.set(id, { decided, timer });
      const message: Message = {
        t: 'reading',
        id,
        from: settings.nodeId,
        device: device.id,
        payload: payload.toString('base64'),
        at: receivedAt,
      };
      send(owner, message)
        .then((receivers) => {
          // nobody listens on the owner's channel (it has just gone): no point waiting for the timeout
          if (receivers === 0) settle(id, UNAVAILABLE);
        })
        .catch(() => settle(id, UNAVAILABLE));
    },
    inFlight: () => pending.size,
    close() {
      for (const id of [...pending.keys()]) settle(id, UNAVAILABLE);
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
