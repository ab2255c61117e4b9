import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { hashSecret } from '../../gateway/src/devices/secret-hash.js';
import type { TestDevice } from './test-gateway.js';
import { TOKENS } from './test-gateway.js';

export type LogEntry = Record<string, unknown> & { msg?: string };

/** The real gateway entry point (`gateway/src/main.ts`) as a child process, the way an operator runs it. */
export interface GatewayProcess {
  child: ChildProcess;
  logs: LogEntry[];
  mqttUrls: string[];
  httpUrl: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string | null>;
  /** The first log entry (past or future) that `predicate` accepts. */
  waitForLog(what: string, predicate: (entry: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * The gateway YAML for `devices` (real secret hashes) and the test API tokens, plus `extra` lines. Written
 * to `dir/gateway.yaml`; returns its path.
 */
export async function writeGatewayConfig(dir: string, devices: TestDevice[], extra: string[]): Promise<string> {
  const lines = [
    'http: { host: 127.0.0.1, port: 0 }',
    `dataDir: ${JSON.stringify(dir)}`,
    'tickInterval: 50',
    // the same-day deadline depends on the time of day the suite runs: off here, tested on its own
    'handling: { deadline: { enabled: false } }',
    'logLevel: info',
    'api:',
    '  tokens:',
    ...Object.entries(TOKENS).map(([role, token]) => `    - { name: test-${role}, role: ${role}, token: ${token} }`),
    'devices:',
    ...(await Promise.all(
      devices.map(
        async (d) =>
          `  - { id: ${d.id}, site: ${d.site}, profile: ${d.profile}, secretHash: "${await hashSecret(d.secret)}"${
            d.attributes ? `, attributes: ${JSON.stringify(d.attributes)}` : ''
          } }`,
      ),
    )),
    ...extra,
  ];
  const path = join(dir, 'gateway.yaml');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/**
 * Starts `node [nodeArgs] --import tsx gateway/src/main.ts --config <configPath>` and resolves once it logged
 * `gateway started`. Under Stryker the child runs the mutant the test runs (`__STRYKER_ACTIVE_MUTANT__`).
 */
export async function startGatewayProcess(
  configPath: string,
  options: {
    nodeArgs?: string[];
    timeoutMs?: number /** run as this user (root only), e.g. 65534 nobody */;
    uid?: number;
    gid?: number;
    /** A command the gateway is run under, e.g. `unshare -m …` (it ends by running its arguments). */
    prefix?: string[];
  } = {},
): Promise<GatewayProcess> {
  const activeMutant = (globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__?.activeMutant;
  const command = [
    ...(options.prefix ?? []),
    process.execPath,
    ...(options.nodeArgs ?? []),
    '--import',
    'tsx',
    'gateway/src/main.ts',
    '--config',
    configPath,
  ];
  const child = spawn(command[0] as string, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    env: { ...process.env, LOG_LEVEL: 'info', ...(activeMutant === undefined ? {} : { __STRYKER_ACTIVE_MUTANT__: activeMutant }) },
  });
  const logs: LogEntry[] = [];
  const watchers = new Set<(entry: LogEntry) => void>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: LogEntry;
    try {
      entry = JSON.parse(line);
    } catch {
      return; // not a log line
    }
    logs.push(entry);
    for (const watch of watchers) watch(entry);
  });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));

  const waitForLog = (what: string, predicate: (entry: LogEntry) => boolean, timeoutMs = 30_000): Promise<LogEntry> => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watch);
        reject(new Error(`gateway process: no log "${what}" within ${timeoutMs} ms; stderr:\n${stderr.slice(-2_000)}`));
      }, timeoutMs);
      const watch = (entry: LogEntry): void => {
        if (!predicate(entry)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        resolve(entry);
      };
      watchers.add(watch);
      void exited.then((code) => {
        if (!watchers.has(watch)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        reject(new Error(`gateway process exited (${code}) before logging "${what}"; stderr:\n${stderr.slice(-2_000)}`));
      });
    });
  };

  // A gateway that did not start in time is killed: left running, it would hold its ports and a core after the test.
  // 60 s: tsx compiles the gateway at each start, which takes tens of seconds on a loaded 2-core machine.
  const started = (await waitForLog('gateway started', (entry) => entry.msg === 'gateway started', options.timeoutMs ?? 60_000).catch(
    (error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    },
  )) as LogEntry & {
    mqtt: string[];
    http: string;
  };
  return {
    child,
    logs,
    mqttUrls: started.mqtt,
    httpUrl: started.http,
    stderr: () => stderr,
    exited,
    waitForLog,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    },
  };
}
