/**
 * Connection load child: opens `count` authenticated device connections (`concurrency` CONNECTs in flight
 * at a time), keeps them open, and reports the connect rate. Closing the child closes them all.
 */
import { childRuntime } from '../lib/child.js';
import { openConnection, type WireConnection } from '../lib/mqtt-wire.js';
import { wallMs } from '../lib/stats.js';

export interface ConnectLoadArgs {
  port: number;
  /** Device `i` is `${prefix}${floor(i / perSite)}-${i % perSite}`, as the gateway's groups name them. */
  prefix: string;
  perSite: number;
  first: number;
  count: number;
  secret: string;
  concurrency: number;
}

const runtime = childRuntime<ConnectLoadArgs>();
const connections: WireConnection[] = [];

runtime.serve({
  connect: async () => {
    const { port, prefix, perSite, first, count, secret, concurrency } = runtime.args;
    let next = 0;
    let failed = 0;
    let firstError: string | null = null;
    const startedAt = wallMs();
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = first + next;
        const device = `${prefix}${Math.floor(i / perSite)}-${i % perSite}`;
        next += 1;
        try {
          connections.push(
            await openConnection({
              host: '127.0.0.1',
              port,
              clientId: device,
              username: device,
              password: secret,
              keepalive: 0,
              timeoutMs: 60_000,
            }),
          );
        } catch (error) {
          failed += 1;
          firstError ??= (error as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    const seconds = (wallMs() - startedAt) / 1000;
    return { connected: connections.length, failed, firstError, seconds, perS: connections.length / seconds };
  },
  close: () => {
    for (const connection of connections) connection.close();
  },
});
runtime.ready();
