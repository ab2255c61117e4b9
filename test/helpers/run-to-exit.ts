import { spawn } from 'node:child_process';

/**
 * Runs `node <args>` as a user would from the project root; resolves with its exit code and stdout + stderr as one
 * text. A child still running after `timeoutMs` is killed (SIGKILL: nothing is left behind) and the call fails.
 */
export async function runNodeToExit(args: readonly string[], timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  clearTimeout(timer);
  if (signal === 'SIGKILL')
    throw new Error(`node ${args.join(' ')} still ran after ${timeoutMs} ms and was killed; its output:\n${output}`);
  return { code, output };
}
