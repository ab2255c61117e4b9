/**
 * The second peer: what a plant engineer in the Node ecosystem builds instead of the gateway. Node-RED, with
 * its aedes broker node, a function node that turns each publish into a point and checks one threshold, a join
 * node that batches 5,000 points or 0.5 s (the gateway's own defaults), and the InfluxDB batch node. The flow
 * is `bench/peers/node-red/flows.json`, importable into Node-RED's editor as it is; this process only fills
 * its ports in and counts. Node-RED and its nodes are installed by `bench/run.sh` into
 * `bench/peers/node-red/node_modules` (pinned by its own lock file), not into the gateway's dependencies.
 * Devices connect anonymously, as to the Mosquitto peer: the aedes node has one username for everyone.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../gateway/src/sinks/influx/local-influxd.js';
import { childRuntime } from '../lib/child.js';
import { cpuSeconds, expectationHandlers } from '../lib/counters.js';
import { createDatabase } from '../lib/influx-query.js';

export interface NodeRedFlowArgs {
  influxUrl: string;
  database: string;
}

const PEER_DIR = fileURLToPath(new URL('../peers/node-red/', import.meta.url));

const runtime = childRuntime<NodeRedFlowArgs>();
const { args } = runtime;

let RED: any;
try {
  RED = createRequire(join(PEER_DIR, 'package.json'))('node-red');
} catch {
  throw new Error('Node-RED is not installed for the bench: run `npm ci --prefix bench/peers/node-red` (bench/run.sh does)');
}

const port = await freePort();
const influx = new URL(args.influxUrl);
await createDatabase(args.influxUrl, args.database);

// Node-RED's user directory: the flow with its ports filled in, and the peer's installed nodes.
const userDir = mkdtempSync(join(tmpdir(), 'bench-node-red-'));
symlinkSync(join(PEER_DIR, 'node_modules'), join(userDir, 'node_modules'));
writeFileSync(join(userDir, 'package.json'), readFileSync(join(PEER_DIR, 'package.json')));
const fill: Record<string, string> = {
  MQTT_PORT: String(port),
  INFLUX_HOST: influx.hostname,
  INFLUX_PORT: influx.port,
  INFLUX_DATABASE: args.database,
};
const flow = readFileSync(join(PEER_DIR, 'flows.json'), 'utf8').replace(/\$\{(\w+)\}/g, (whole, name: string) => fill[name] ?? whole);
writeFileSync(join(userDir, 'flows.json'), flow);

/** Counted by the flow's function node (`global.get('counters')`). */
const counters = { accepted: 0, alarms: 0 };
const http = createServer();
RED.init(http, {
  userDir,
  flowFile: 'flows.json',
  credentialSecret: false,
  httpAdminRoot: false,
  httpNodeRoot: false,
  functionGlobalContext: { counters },
  logging: { console: { level: 'error', metrics: false, audit: false } },
  externalModules: { autoInstall: false },
});
// Points written: the InfluxDB batch node completes a message once influxd has answered its write (Node-RED's
// onComplete hook), as the gateway counts its sink's written points. The bench counts them in influxd afterwards.
let written = 0;
RED.hooks.add('onComplete', (event: { msg: { payload?: unknown }; error?: unknown; node: { id: string } }) => {
  if (event.node.id === 'plant-store' && !event.error && Array.isArray(event.msg.payload)) written += event.msg.payload.length;
});
await RED.start();

runtime.serve({
  ...expectationHandlers({ accepted: () => counters.accepted, stored: () => written }),
  stats: async () => ({
    rss: process.memoryUsage().rss,
    cpuSeconds: cpuSeconds(),
    accepted: counters.accepted,
    written,
    alarms: counters.alarms,
  }),
  close: async () => {
    await RED.stop();
    rmSync(userDir, { recursive: true, force: true });
  },
});
runtime.ready({ port });
