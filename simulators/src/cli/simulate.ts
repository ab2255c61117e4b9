import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, InvalidArgumentError } from 'commander';
import { withUsageExit } from '../../../gateway/src/cli/usage-exit.js';
import { hashSecret } from '../../../gateway/src/devices/secret-hash.js';
import { MODEL_PROFILES } from '../models/model-registry.js';
import { generateLoadDevices, loadModeScenario } from '../run/load-devices.js';
import { startOwnGateway } from '../run/own-gateway.js';
import { createScaledClock, playScaled, type ScaledClock } from '../run/play-scaled.js';
import { runVirtual } from '../run/run-virtual.js';
import { startFleet } from '../run/start-fleet.js';
import { createVirtualClock } from '../run/virtual-clock.js';
import { type AlarmEventLike, alarmsFromEvents, checkExpectations, formatExpectationReport } from '../scenario/expectations.js';
import { listScenarios, loadScenario, ScenarioError } from '../scenario/load-scenario.js';
import type { Scenario } from '../scenario/scenario-schema.js';
import { formatOffset, parseDuration } from '../time/duration.js';
import { followAlarms } from './alarm-stream.js';

const durationArg = (value: string): number => {
  const ms = parseDuration(value);
  if (ms === null) throw new InvalidArgumentError('expected a duration such as 30s, 10m, 2h');
  return ms;
};
const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};
const positiveNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const DEFAULT_URL = 'mqtt://127.0.0.1:1883';

const program = withUsageExit(new Command('simulate'))
  .description(
    'Simulated devices over real MQTT: a scenario (in real time, --speed N times faster, or --fast), or a load fleet of one profile.',
  )
  .enablePositionalOptions()
  .option('--scenario <name|file>', `a shipped scenario (${listScenarios().join(', ')}) or a YAML file`)
  .option('--speed <n>', 'scenario: play N times faster than real time, device timestamps in scenario time', positiveNumber)
  .option('--fast', 'scenario: play as fast as the gateway acknowledges (device timestamps in scenario time)')
  .option('--profile <id>', `load mode: devices of this profile (${MODEL_PROFILES.join(', ')})`)
  .option('--devices <n>', 'load mode: how many devices', positiveInt, 100)
  .option('--rate <msgs/s>', 'load mode: messages per second across the fleet', positiveNumber, 100)
  .option('--sites <n>', 'load mode: spread the devices over this many sites (default: one per 100 devices)', positiveInt)
  .option('--duration <d>', 'stop after this long (default: the scenario duration; load: until Ctrl-C)', durationArg)
  .option(
    '--url <mqtt-url>',
    `the gateway MQTT listener (load mode: default ${DEFAULT_URL}; scenario: without it the simulator starts a gateway of its own)`,
  )
  .option('--seed <n>', 'random seed (default: the scenario seed)', positiveInt)
  .option(
    '--secret-prefix <prefix>',
    'device secret = prefix + device id (default: "demo-" for scenarios, as the embedded demo; "load-" in load mode)',
  )
  .option('--qos <0|1>', 'telemetry QoS', (v) => (v === '0' ? 0 : v === '1' ? 1 : Number.NaN), 1)
  .option('--api <http-url>', 'with --url: the gateway HTTP API, to follow alarms on GET /api/alarms/stream')
  .option('--token <token>', 'with --api: an API token (viewer is enough)')
  .option('--list', 'list the shipped scenarios and exit')
  .addHelpText(
    'after',
    `
Examples:
  npm run simulate -- --scenario dust-collector-drift --fast        # on a gateway of its own, alarms checked
  npm run simulate -- --scenario demo --speed 10
  npm run simulate -- --scenario ./my-plant.yaml --url mqtt://gateway:1883 --api http://gateway:8080 --token … --speed 60
  npm run simulate -- fleet --profile dust-collector --devices 2000 --registry data/load-registry.yaml
  npm run simulate -- --profile dust-collector --devices 2000 --rate 500 --duration 5m

A scenario without --url runs against a gateway the simulator starts for it (loopback, free ports, InfluxDB off,
default rules, exactly the scenario's devices) and checks the alarms it raises. With --url it plays against that
gateway, whose registry must hold the scenario's devices (secrets: --secret-prefix + id) and where nothing else
reports as them: not the demo of npm start, whose own plant already reports as dc-01 … (its readings are newer,
so the scenario's count as late).

--speed and --fast timestamp every reading in scenario time; with --url placed so that the last one is sent at
about its own time: the gateway must accept readings that old (ingest.maxAge, 90 days by default). An alarm the
gateway raises on its own timer (an on-delay running out between readings) carries its wall time; the check
counts it at the scenario time being played when it arrived.

Exit status: 0 when every expected alarm appeared (and nothing else), 1 when not, 2 on bad arguments.`,
  );

program
  .command('fleet')
  .description('Write the device registry of a load fleet (the devices load mode runs) for the gateway to load')
  .requiredOption('--registry <file>', 'where to write it (YAML with devices:; list it in the gateway config under deviceFiles:)')
  .option('--profile <id>', `devices of this profile (${MODEL_PROFILES.join(', ')})`, 'dust-collector')
  .option('--devices <n>', 'how many devices', positiveInt, 100)
  .option('--sites <n>', 'spread the devices over this many sites (default: one per 100 devices)', positiveInt)
  .option('--secret-prefix <prefix>', 'device secret = prefix + device id (what load mode sends by default)', 'load-')
  .addHelpText(
    'after',
    `
Device ids are load-<profile>-<n> on sites load-site-<n>, never an id of the demo. The secrets follow from the
ids and the prefix: a registry for load tests, not for devices in the field.`,
  )
  .action(async (fleetOptions: { registry: string; profile: string; devices: number; sites?: number; secretPrefix: string }) => {
    const devices = generateLoadDevices({
      profile: fleetOptions.profile,
      count: fleetOptions.devices,
      ...(fleetOptions.sites === undefined ? {} : { sites: fleetOptions.sites }),
      secretOf: (id) => `${fleetOptions.secretPrefix}${id}`,
    });
    const registry = await Promise.all(
      devices.map(async ({ id, site, profile, secret, attributes }) => ({
        id,
        site,
        profile,
        secretHash: await hashSecret(secret),
        ...(attributes ? { attributes } : {}),
      })),
    );
    mkdirSync(dirname(fleetOptions.registry), { recursive: true });
    writeFileSync(
      fleetOptions.registry,
      `# Load-test fleet: npm run simulate -- fleet --profile ${fleetOptions.profile} --devices ${fleetOptions.devices}. ` +
        `Secrets: "${fleetOptions.secretPrefix}" + device id.\ndevices:\n${registry.map((device) => `  - ${JSON.stringify(device)}\n`).join('')}`,
    );
    console.log(`${registry.length} ${fleetOptions.profile} device(s) written to ${fleetOptions.registry}`);
    fleetWritten = true;
  });

// Without a subcommand: a scenario or load mode (main below).
program.action(() => undefined);
let fleetWritten = false;

interface Options {
  scenario?: string;
  profile?: string;
  devices: number;
  rate: number;
  sites?: number;
  duration?: number;
  url?: string;
  seed?: number;
  secretPrefix?: string;
  speed?: number;
  fast?: boolean;
  qos: number;
  api?: string;
  token?: string;
  list?: boolean;
}

function loadFleetScenario(options: Options): Scenario {
  if (options.scenario) return loadScenario(options.scenario);
  if (!options.profile) throw new InvalidArgumentError('give --scenario <name|file>, or --profile <id> for load mode');
  return loadModeScenario({
    profile: options.profile,
    devices: options.devices,
    rate: options.rate,
    sites: options.sites,
    seed: options.seed,
    duration: options.duration,
  });
}

/** Where a run sends its readings and sees the alarms they raise. */
interface Target {
  url: string;
  /** Alarm events as they arrived; null when nothing follows them (--url without --api/--token). */
  alarms: AlarmWatch | null;
  describe: string;
  /** The simulator's own gateway in scaled play: its timers at scenario time `t` (see playScaled). */
  advance?(t: number): Promise<void>;
  close(): Promise<void>;
}

interface AlarmWatch {
  readonly events: AlarmEventLike[];
  readonly error: string | null;
  /** The scenario time at which the event arrived (scaled play only). */
  seenAt(event: AlarmEventLike): number | undefined;
}

/**
 * A scenario without --url: a gateway of its own, on the scenario's clock in scaled play. Otherwise the gateway at
 * --url, alarms from --api with --token, each noted with the scenario time being played when it arrived.
 */
async function openTarget(
  options: Options,
  scenario: Scenario,
  loadMode: boolean,
  secretPrefix: string,
  clock: ScaledClock | null,
): Promise<Target> {
  const seen = new Map<AlarmEventLike, number>();
  const record = (event: AlarmEventLike): void => {
    if (clock) seen.set(event, clock.now());
  };
  const seenAt = (event: AlarmEventLike): number | undefined => seen.get(event);
  if (!loadMode && options.url === undefined) {
    if (options.api !== undefined || options.token !== undefined) {
      throw new InvalidArgumentError(
        '--api and --token follow the gateway given with --url; without --url the simulator starts a gateway of its own and sees its alarms directly',
      );
    }
    const events: AlarmEventLike[] = [];
    const own = await startOwnGateway({
      scenario,
      secretOf: (id) => `${secretPrefix}${id}`,
      onEvent: (event) => events.push(event),
      // in scaled play the gateway runs on the scenario clock and the play runs its timers at every scenario tick
      ...(clock ? { now: () => clock.now(), tickInterval: 60_000 } : {}),
    });
    return {
      url: own.mqttUrl,
      // its alarm times are scenario times
      alarms: { events, error: null, seenAt: () => undefined },
      describe: `a gateway of its own (${own.mqttUrl}, ${own.httpUrl}; the scenario's devices, default rules, InfluxDB off)`,
      ...(clock
        ? {
            advance: async (t: number) => {
              await own.settle();
              own.tick(t);
            },
          }
        : {}),
      close: () => own.close(),
    };
  }
  const url = options.url ?? DEFAULT_URL;
  const stream = options.api && options.token ? followAlarms(options.api, options.token, record) : null;
  if (options.api && !options.token) console.error('--api needs --token to follow alarms; continuing without');
  return {
    url,
    alarms: stream
      ? {
          get events() {
            return stream.events;
          },
          get error() {
            return stream.error;
          },
          seenAt,
        }
      : null,
    describe: `${url}${stream ? `, alarms from ${options.api}` : ''}`,
    close: async () => stream?.close(),
  };
}

async function main(): Promise<number> {
  await program.parseAsync();
  if (fleetWritten) return 0;
  const options = program.opts<Options>();
  if (options.list) {
    for (const name of listScenarios()) {
      const scenario = loadScenario(name);
      console.log(`${name.padEnd(32)} ${formatOffset(scenario.duration).padStart(6)}  ${scenario.description.trim().split('. ')[0]}`);
    }
    return 0;
  }
  if (options.qos !== 0 && options.qos !== 1) throw new InvalidArgumentError('--qos must be 0 or 1');
  const scenario = loadFleetScenario(options);
  const loadMode = !options.scenario;
  const secretPrefix = options.secretPrefix ?? (loadMode ? 'load-' : 'demo-');
  let speed: number | null = null;
  if (options.speed !== undefined || options.fast) {
    if (loadMode) throw new InvalidArgumentError('--speed and --fast play a --scenario');
    if (options.speed !== undefined && options.fast) throw new InvalidArgumentError('give --speed or --fast, not both');
    speed = options.fast ? Number.POSITIVE_INFINITY : (options.speed as number);
  }
  if (speed === Number.POSITIVE_INFINITY && options.url === undefined) return playScenarioVirtual(options, scenario, secretPrefix);
  // On its own gateway (on the scenario clock) a scenario starts at its own `start`, as in the tests: rules that
  // read the local time of day (nights, shifts) see the scenario's. A gateway on the wall clock needs timestamps
  // that end about now (scaledStart).
  const start = options.url === undefined ? { start: Date.parse(scenario.start) } : {};
  const clock = speed === null ? null : createScaledClock({ duration: options.duration ?? scenario.duration, speed, ...start });
  const target = await openTarget(options, scenario, loadMode, secretPrefix, clock);
  try {
    return clock === null
      ? await playRealTime(options, scenario, loadMode, secretPrefix, target)
      : await playScenarioScaled(options, scenario, secretPrefix, clock, target);
  } finally {
    await target.close();
  }
}

/** A scenario in real time, or load mode. */
async function playRealTime(
  options: Options,
  scenario: Scenario,
  loadMode: boolean,
  secretPrefix: string,
  target: Target,
): Promise<number> {
  const durationMs = options.duration ?? (loadMode ? undefined : scenario.duration);
  const alarms = target.alarms;

  const errors = new Map<string, number>();
  const fleet = await startFleet({
    url: target.url,
    scenario,
    secretOf: (id) => `${secretPrefix}${id}`,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    qos: options.qos as 0 | 1,
    onError: (_device, error) => {
      const key = error.message.replace(/^[^:]+: /, '');
      errors.set(key, (errors.get(key) ?? 0) + 1);
    },
  });
  console.log(
    `${scenario.name}: ${scenario.devices.length} device(s) → ${target.describe}${durationMs !== undefined ? ` for ${formatOffset(durationMs)}` : ' until Ctrl-C'}`,
  );

  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    void fleet.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const tty = process.stdout.isTTY;
  let lastSent = 0;
  let lastAt = Date.now();
  const progress = setInterval(
    () => {
      const s = fleet.stats();
      const now = Date.now();
      const rate = ((s.sent - lastSent) * 1000) / Math.max(1, now - lastAt);
      lastSent = s.sent;
      lastAt = now;
      const line = `+${formatOffset(Math.round(s.elapsedMs / 1000) * 1000).padEnd(7)} ${rate.toFixed(0).padStart(6)} msg/s  sent ${s.sent}  readings ${s.readings}  connected ${s.connected}/${s.devices}  errors ${s.errors}  reconnects ${s.reconnects}${alarms ? `  alarms ${alarms.events.length}` : ''}`;
      if (tty) process.stdout.write(`\r${line}\u001b[K`);
      else console.log(line);
    },
    tty ? 1_000 : 5_000,
  );
  await fleet.done;
  clearInterval(progress);
  if (tty) process.stdout.write('\n');
  // Alarms raised by the last readings (on-delays) still travel to the stream.
  if (alarms && !interrupted) await sleep(2_000);

  const s = fleet.stats();
  console.log(
    `\nsummary: ${s.sent} messages, ${s.readings} readings from ${s.devices} device(s) in ${formatOffset(s.elapsedMs)}; errors ${s.errors}, reconnects ${s.reconnects}`,
  );
  for (const [message, count] of errors) console.log(`  error ×${count}: ${message}`);
  if (!alarms) {
    if (scenario.expect.length > 0) console.log('expected alarms not checked: give --api and --token to follow the gateway alarm stream');
    return s.errors > 0 && s.sent === 0 ? 1 : 0;
  }
  if (alarms.error) console.log(`alarm stream: ${alarms.error}`);
  const observed = alarmsFromEvents(alarms.events);
  console.log(`alarms seen: ${observed.length}`);
  if (loadMode || interrupted) {
    for (const alarm of observed) console.log(`  ${alarm.key} ${alarm.severity}`);
    return 0;
  }
  const report = checkExpectations(scenario.expect, observed, s.startedAt);
  console.log(formatExpectationReport(report, s.startedAt));
  return report.ok ? 0 : 1;
}

/**
 * `--speed N` / `--fast`: the scenario in scaled time; expectations are checked against the scenario's own clock,
 * an alarm at its reading's time or, raised on the gateway's timer, at the scenario time being played when it arrived.
 */
async function playScenarioScaled(
  options: Options,
  scenario: Scenario,
  secretPrefix: string,
  clock: ScaledClock,
  target: Target,
): Promise<number> {
  const { speed } = clock;
  const alarms = target.alarms;
  const played = { ...scenario, duration: options.duration ?? scenario.duration };
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const errors = new Map<string, number>();
  console.log(
    `${scenario.name}: ${scenario.devices.length} device(s) → ${target.describe}, ${formatOffset(played.duration)} of scenario time ${Number.isFinite(speed) ? `at ${speed}× real time` : 'as fast as acknowledged'}`,
  );
  const began = Date.now();
  const result = await playScaled({
    url: target.url,
    scenario: played,
    secretOf: (id) => `${secretPrefix}${id}`,
    speed,
    clock,
    ...(target.advance ? { advance: target.advance } : {}),
    qos: options.qos as 0 | 1,
    signal: abort.signal,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    onError: (_device, error) => {
      const key = error.message.replace(/^[^:]+: /, '');
      errors.set(key, (errors.get(key) ?? 0) + 1);
    },
  });
  // Alarms raised by the last readings still travel to the stream.
  if (alarms && !abort.signal.aborted) await sleep(2_000);
  console.log(
    `\nsummary: ${result.sent} messages, ${result.readings} readings from ${scenario.devices.length} device(s), scenario time ${new Date(result.start).toISOString()} → ${new Date(result.end).toISOString()} in ${formatOffset(Date.now() - began)}; errors ${result.errors}`,
  );
  for (const [message, count] of errors) console.log(`  error ×${count}: ${message}`);
  if (!alarms) {
    if (scenario.expect.length > 0) console.log('expected alarms not checked: give --api and --token to follow the gateway alarm stream');
    return result.errors > 0 && result.sent === 0 ? 1 : 0;
  }
  if (alarms.error) console.log(`alarm stream: ${alarms.error}`);
  // On a shared gateway only the scenario's sites (their devices, and site rules such as line-1/casting_not_permitted).
  const observed = alarmsFromEvents(alarms.events, alarms.seenAt).filter((alarm) => scenario.devices.some((d) => d.site === alarm.site));
  console.log(`alarms seen: ${observed.length}`);
  if (abort.signal.aborted) return 0;
  const report = checkExpectations(scenario.expect, observed, result.start);
  console.log(formatExpectationReport(report, result.start));
  return report.ok ? 0 : 1;
}

/**
 * `--fast` on the simulator's own gateway: the gateway's clock is the run's virtual clock, moved in steps of the
 * scenario's `tick` (its timers run at each), as the tests run every scenario (`runVirtual`): exact timing.
 */
async function playScenarioVirtual(options: Options, scenario: Scenario, secretPrefix: string): Promise<number> {
  if (options.api !== undefined || options.token !== undefined) {
    throw new InvalidArgumentError(
      '--api and --token follow the gateway given with --url; without --url the simulator starts a gateway of its own and sees its alarms directly',
    );
  }
  const played = { ...scenario, duration: options.duration ?? scenario.duration };
  const clock = createVirtualClock(Date.parse(played.start));
  const events: AlarmEventLike[] = [];
  const own = await startOwnGateway({
    scenario,
    secretOf: (id) => `${secretPrefix}${id}`,
    onEvent: (event) => events.push(event),
    now: clock.now,
    // the run moves the gateway's clock and runs its timers itself
    tickInterval: 60_000,
  });
  try {
    console.log(
      `${scenario.name}: ${scenario.devices.length} device(s) → a gateway of its own (${own.mqttUrl}, ${own.httpUrl}; the scenario's devices, default rules, InfluxDB off), ${formatOffset(played.duration)} of scenario time as fast as acknowledged`,
    );
    const began = Date.now();
    const run = await runVirtual({
      scenario: played,
      url: own.mqttUrl,
      secretOf: (id) => `${secretPrefix}${id}`,
      clock,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      advance: async (t) => {
        await own.settle();
        own.tick(t);
      },
    });
    await own.settle();
    console.log(
      `\nsummary: ${run.published} messages, ${run.readings} readings from ${scenario.devices.length} device(s), scenario time ${new Date(run.start).toISOString()} → ${new Date(run.end).toISOString()} in ${formatOffset(Date.now() - began)}; errors 0`,
    );
    const observed = alarmsFromEvents(events);
    console.log(`alarms seen: ${observed.length}`);
    const report = checkExpectations(scenario.expect, observed, run.start);
    console.log(formatExpectationReport(report, run.start));
    return report.ok ? 0 : 1;
  } finally {
    await own.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof InvalidArgumentError || error instanceof ScenarioError) {
      console.error(error.message);
      process.exitCode = 2;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  },
);
