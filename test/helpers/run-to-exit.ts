import { spawn } from 'node:child_process';

/** Runs `node <args>` as a user would from the project root; resolves with its exit code and stdout + stderr as one text. */
export async function runNodeToExit(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}
