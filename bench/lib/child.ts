import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_HEAP_ARGS } from '../../gateway/src/lane/young-generation.js';

/** A message on the IPC channel between the orchestrator and a benchmark child process. */
interface Envelope {
  id?: number;
  type: string;
  ok?: boolean;
  error?: string;
  [key: string]: unknown;
}

export interface BenchChild {
  readonly pid: number;
  readonly process: ChildProcess;
  /** The child's `ready` message. */
  readonly info: Record<string, unknown>;
  /** Sends a request the child's handler answers. */
  call<T = Record<string, unknown>>(type: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop (handler `close`, then exit) and waits; kills it after a grace period. */
  stop(graceMs?: number): Promise<void>;
}

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts `bench/<script>` in a process of its own (node + tsx, with IPC) and waits for its `ready` message.
 * `nodeArgs` go before the script (e.g. `--cpu-prof`).
 */
export function spawnChild(
  script: string,
  args: unknown = {},
  options: { nodeArgs?: string[]; readyTimeoutMs?: number } = {},
): Promise<BenchChild> {
  // the gateway as it ships: its main thread's heap flags (the worker sets its own)
  const shipped = script === 'servers/gateway-server.ts' ? NODE_HEAP_ARGS : [];
  const child = spawn(
    process.execPath,
    [...shipped, ...(options.nodeArgs ?? []), '--import', 'tsx', `${BENCH_DIR}${script}`, JSON.stringify(args)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited (code ${code}, signal ${signal})`));
    pending.clear();
  });
  child.on('message', (raw) => {
    const message = raw as Envelope;
    if (message.id === undefined) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${script}: ${message.error}`));
  });

  const call = <T>(type: string, payload: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${script}: ${type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      child.send({ id, type, ...payload });
    });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready within ${options.readyTimeoutMs ?? 60_000} ms`));
    }, options.readyTimeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code} before it was ready`));
    });
    const onReady = (raw: unknown): void => {
      const message = raw as Envelope;
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve({
        pid: child.pid as number,
        process: child,
        info: message,
        call,
        async stop(graceMs = 15_000) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          call('close', {}, graceMs).catch(() => undefined);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    child.on('message', onReady);
  });
}

type Handler = (message: Record<string, any>) => unknown;

/**
 * The child's side: parses its JSON argument, answers requests with `handlers`, and exits after `close`.
 * Call `ready(info)` once it can take requests.
 */
export function childRuntime<A>(): {
  args: A;
  serve(handlers: Record<string, Handler>): void;
  ready(info?: Record<string, unknown>): void;
} {
  const args = JSON.parse(process.argv[2] ?? '{}') as A;
  // The orchestrator going away ends the child too: no stray load generators.
  process.on('disconnect', () => process.exit(0));
  return {
    args,
    serve(handlers) {
      process.on('message', (raw) => {
        const message = raw as Envelope;
        const handler = handlers[message.type];
        const reply = (body: Envelope): void => {
          if (process.connected) process.send?.(body);
        };
        if (!handler) {
          if (message.type === 'close') {
            reply({ id: message.id, type: 'reply', ok: true, result: {} });
            setImmediate(() => process.exit(0));
            return;
          }
          reply({ id: message.id, type: 'reply', ok: false, error: `no handler for ${message.type}` });
          return;
        }
        Promise.resolve()
          .then(() => handler(message))
          .then(
            (result) => {
              reply({ id: message.id, type: 'reply', ok: true, result: result ?? {} });
              if (message.type === 'close') setImmediate(() => process.exit(0));
            },
            (error: unknown) => reply({ id: message.id, type: 'reply', ok: false, error: (error as Error).stack ?? String(error) }),
          );
      });
    },
    ready(info = {}) {
      process.send?.({ type: 'ready', ...info });
    },
  };
}
