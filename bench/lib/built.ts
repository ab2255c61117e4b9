/**
 * The gateway's modules as they ship: dist/, compiled by tsc (`npm run build`; bench/run.sh builds it when stale), so
 * that what is measured is what production runs. Imported from source through tsx instead, every closure the code
 * creates also calls esbuild's `__name` helper (~3 % of the gateway's CPU in a profile), and the peer assembled
 * from the same parts would pay it too.
 *
 *   const { startGateway } = await built<typeof import('../../gateway/src/gateway.js')>('gateway/src/gateway.js');
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let checked = false;

/** dist/ must be a build of the sources as they are (its stamp is their hash), or a run would measure old code. */
function checkBuild(): void {
  if (checked) return;
  const stamp = `${ROOT}dist/.build-stamp`;
  const now = execFileSync('bash', [`${ROOT}scripts/build-hash.sh`], { encoding: 'utf8' }).trim();
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== now)
    throw new Error('dist/ is missing or older than the sources: run the benchmarks with bash bench/run.sh (it builds dist/)');
  checked = true;
}

export async function built<T>(path: string): Promise<T> {
  checkBuild();
  return (await import(new URL(`dist/${path}`, `file://${ROOT}`).href)) as T;
}
