/**
 * Bare aedes 1.2 in a process of its own: no authentication, a no-op `authorizePublish` hook that only
 * counts, nothing stored. The ceiling the gateway's broker path is compared with.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { childRuntime } from '../lib/child.js';
import { cpuSeconds, expectationHandlers } from '../lib/counters.js';
import { fullCollections, youngGenerationBytes } from '../lib/full-collections.js';

const runtime = childRuntime<Record<string, never>>();
let published = 0;
const broker = await Aedes.createBroker({
  authorizePublish(_client, _packet, done) {
    published += 1;
    done(null);
  },
});
const server = createServer(broker.handle);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;

runtime.serve({
  ...expectationHandlers({
    accepted: () => published,
    stored: null,
  }),
  /** Full garbage collections (the process runs with --expose-gc), then the RSS and heap: memory held, not garbage. */
  settle: async () => {
    await fullCollections();
    const memory = process.memoryUsage();
    return { rss: memory.rss, heapUsed: memory.heapUsed, workerHeapUsed: 0, young: youngGenerationBytes() };
  },
  stats: () => ({ rss: process.memoryUsage().rss, cpuSeconds: cpuSeconds(), connections: broker.connectedClients, accepted: published }),
  close: async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    server.close();
  },
});
runtime.ready({ port, mqttUrl: `mqtt://127.0.0.1:${port}` });
