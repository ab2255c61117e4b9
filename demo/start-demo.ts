import { Command } from 'commander';
import { DEMO_DEVICES, DEMO_TOKENS, demoConfig, demoSecretOf } from '../gateway/src/config/demo-config.js';
import { GatewayError } from '../gateway/src/errors.js';
import { type RunningGateway, startGateway } from '../gateway/src/gateway.js';
import { createLogger } from '../gateway/src/observability/logger.js';
import { parseDuration } from '../rules/src/index.js';
import { type Fleet, loadScenario, startFleet } from '../simulators/src/index.js';

export interface Demo {
  gateway: RunningGateway;
  fleet: Fleet;
  stop(): Promise<void>;
}

/** The gateway on its embedded demo defaults, with the demo plant publishing to it over real MQTT. */
export async function startDemo(options: {
  mqttPort: number;
  httpPort: number;
  logLevel: string;
  host?: string;
  dataDir?: string;
}): Promise<Demo> {
  // Loopback unless asked: the demo's tokens and device secrets are public.
  const host = options.host ?? '127.0.0.1';
  const config = await demoConfig({
    mqtt: { tcp: { host, port: options.mqttPort } },
    http: { host, port: options.httpPort },
    logLevel: options.logLevel,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  const gateway = await startGateway({ config, log: createLogger(options.logLevel) });
  const fleet = await startFleet({
    url: gateway.mqttUrl,
    scenario: loadScenario('demo'),
    devices: DEMO_DEVICES,
    secretOf: demoSecretOf,
  });
  return {
    gateway,
    fleet,
    async stop() {
      await fleet.stop();
      await gateway.close();
    },
  };
}

function banner(gateway: RunningGateway, host: string): string {
  const api = gateway.httpUrl;
  return [
    '',
    '  Risk-monitoring gateway — demo (embedded defaults, simulated plants)',
    '',
    `  Listening on    ${host}${host === '127.0.0.1' || host === 'localhost' || host === '::1' ? ' (this machine only; --host 0.0.0.0 for every interface)' : ' — reachable from the network with the public demo tokens below'}`,
    `  MQTT broker     ${gateway.listeners.map((l) => l.url).join('  ')}`,
    `  HTTP API        ${api}   (readiness: ${api}/readyz, metrics: ${api}/metrics)`,
    `  Alarm stream    curl -N -H 'Authorization: Bearer ${DEMO_TOKENS.viewer}' ${api}/api/alarms/stream`,
    `  Open alarms     curl -H 'Authorization: Bearer ${DEMO_TOKENS.viewer}' ${api}/api/alarms`,
    `  Acknowledge     curl -X POST -H 'Authorization: Bearer ${DEMO_TOKENS.operator}' -H 'content-type: application/json' -d '{"by":"me"}' ${api}/api/alarms/<id>/ack`,
    `  InfluxDB        ${gateway.influx.url ?? `disabled — ${gateway.influx.disabledReason}`}`,
    `  Tokens          viewer ${DEMO_TOKENS.viewer}   operator ${DEMO_TOKENS.operator}   admin ${DEMO_TOKENS.admin}`,
    `  Devices         ${DEMO_DEVICES.length} simulated (${[...new Set(DEMO_DEVICES.map((d) => d.profile))].join(', ')})`,
    '',
    '  Alarm events appear below as they happen. Ctrl-C stops.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const options = new Command()
    .name('demo')
    .description('Run the gateway on embedded defaults with simulated plants')
    .option(
      '--host <address>',
      'address the broker and HTTP API listen on (0.0.0.0: every interface; the demo tokens are public)',
      '127.0.0.1',
    )
    .option('--mqtt-port <port>', 'MQTT TCP port', '1883')
    .option('--http-port <port>', 'HTTP port', '8080')
    .option('--duration <time>', 'stop after this long (e.g. 2m); default: until Ctrl-C')
    .option('--log-level <level>', 'gateway log level', process.env.LOG_LEVEL ?? 'warn')
    .parse()
    .opts<{ host: string; mqttPort: string; httpPort: string; duration?: string; logLevel: string }>();

  let demo: Demo;
  try {
    demo = await startDemo({
      host: options.host,
      mqttPort: Number(options.mqttPort),
      httpPort: Number(options.httpPort),
      logLevel: options.logLevel,
    });
  } catch (error) {
    if (error instanceof GatewayError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  process.stdout.write(banner(demo.gateway, options.host));
  demo.gateway.alarms.onEvent((event) => {
    const a = event.data.alarm;
    process.stdout.write(`  ${event.timestamp}  ${event.type.padEnd(18)} ${a.severity.padEnd(6)} ${a.key.padEnd(42)} ${a.message}\n`);
  });

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) process.exit(1);
    stopping = true;
    const stats = demo.fleet.stats();
    process.stdout.write(`\n  stopping: ${stats.sent} messages from ${stats.devices} devices, ${stats.errors} errors\n`);
    await demo.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (options.duration) {
    const ms = parseDuration(options.duration);
    if (ms === null) throw new Error(`--duration: not a duration: ${options.duration}`);
    setTimeout(() => void stop(), ms);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`fatal: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
