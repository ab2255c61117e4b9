import { Command } from 'commander';
import { withUsageExit } from './cli/usage-exit.js';
import { type GatewayConfig, logLevelSchema } from './config/config-schema.js';
import { demoConfig } from './config/demo-config.js';
import { configWarnings, loadConfigFile } from './config/load-config.js';
import { GatewayError } from './errors.js';
import { startGateway } from './gateway.js';
import { createLogger } from './observability/logger.js';

/** The composition root's entry: the only place that reads argv and the environment. */
async function main(): Promise<void> {
  const program = withUsageExit(new Command())
    .name('risk-gateway')
    .description('IoT risk-monitoring ingestion gateway: MQTT broker, validation, alarm rules, InfluxDB, webhooks, HTTP API.')
    .option(
      '-c, --config <file>',
      'YAML configuration file (env GATEWAY_CONFIG; default: the embedded demo defaults)',
      process.env.GATEWAY_CONFIG,
    )
    .option('--check', 'validate the configuration and rule files, then exit')
    .addHelpText(
      'after',
      `
Environment: GATEWAY_CONFIG (instead of --config), LOG_LEVEL (overrides logLevel), and any \${NAME} the
configuration file reads (\${NAME:-default} gives a default).

Exit status: 0 stopped by SIGTERM/SIGINT (or --check passed); 1 the gateway failed while running (e.g. its
telemetry worker died), or could not start for a reason that may pass (a port in use, Redis not reachable yet:
restart it); 2 invalid arguments, configuration or rule files, or an unusable data directory (fix, then start).`,
    )
    .parse();
  const options = program.opts<{ config?: string; check?: boolean }>();

  let config: GatewayConfig;
  try {
    config = options.config ? loadConfigFile(options.config, process.env) : await demoConfig();
  } catch (error) {
    if (error instanceof GatewayError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      if (/environment variable \S+ is not set/.test(error.message))
        process.stderr.write(`set each variable named above (export NAME=…), or give a default in the file: \${NAME:-default}\n`);
      process.exit(2);
    }
    throw error;
  }
  const level = logLevelSchema.safeParse(process.env.LOG_LEVEL ?? config.logLevel);
  if (!level.success) {
    process.stderr.write(`config_invalid: LOG_LEVEL=${process.env.LOG_LEVEL}: one of ${logLevelSchema.options.join(', ')}\n`);
    process.exit(2);
  }
  const log = createLogger(level.data);
  const warnings = configWarnings(config);
  for (const warning of warnings) log.warn(warning, 'configuration names a site no device of the registry is on');
  if (!options.config)
    log.warn(
      { listening: '127.0.0.1 only', tokens: 'public demo tokens (demo-admin-token-000000 among them)' },
      'no --config given: running on the embedded demo defaults',
    );

  let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
  let stopping = false;
  const close = (running: NonNullable<typeof gateway>): void => {
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Listening from the start: a SIGTERM while the gateway starts stops it cleanly once it has started.
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without flushing');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutdown requested');
    if (gateway) close(gateway);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A SIGHUP (a reload, a log rotation) while the gateway starts would end it (Node's default): the rules are read at
  // the start anyway, so it is noted and nothing more; once running, a SIGHUP reloads them (below).
  let reload: (() => void) | null = null;
  process.on('SIGHUP', () => {
    if (reload) reload();
    else log.info('SIGHUP while starting: the rules being loaded are the current ones');
  });
  try {
    if (options.check) {
      const { loadRuleSetOrThrow } = await import('./rule-files/load-rule-files.js');
      const { PROFILES } = await import('../../profiles/index.js');
      loadRuleSetOrThrow(PROFILES, config.rules);
      for (const { key, site } of warnings)
        process.stdout.write(`warning: ${key} names site "${site}", which no device of the registry is on\n`);
      process.stdout.write('configuration and rule files are valid\n');
      return;
    }
    gateway = await startGateway({
      // LOG_LEVEL for every thread: the telemetry worker builds its logger from the configuration it is handed
      config: { ...config, logLevel: level.data },
      log,
      onFatal: (error) => {
        // Without its telemetry worker the gateway can only refuse work: exit, and let the supervisor restart it.
        log.fatal({ err: error }, 'gateway cannot continue');
        process.exit(1);
      },
    });
  } catch (error) {
    if (error instanceof GatewayError) {
      process.stderr.write(`${error.code}: ${error.message}\n`);
      // 2: what the operator must fix first (a supervisor may stop restarting); 1: a start that may work next time
      process.exit(error.retryable ? 1 : 2);
    }
    throw error;
  }

  const running = gateway;
  if (stopping) return close(running);
  reload = () =>
    running.reloadRules().then(
      (result) => {
        if (!result.ok) log.error({ problems: result.problems }, 'SIGHUP: rule reload rejected');
      },
      (error: unknown) => log.error({ err: error }, 'SIGHUP: rule reload failed'),
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`fatal: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
