/**
 * The gateway's modules as they ship: dist/, compiled by tsc (`npm run build`; bench/run.sh builds it when stale), so
 * that what is measured is what production runs. Imported from source through tsx instead, every closure the code
 * creates also calls esbuild's `__name` helper (~3 % of the gateway's CPU in a profile), and the peer assembled
 * from the same parts would pay it too.
 *
 *   const { startGateway } = await built<typeof import('../../gateway/src/gateway.js')>('gateway/src/gateway.js');
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function built<T>(path: string): Promise<T> {
  const url = new URL(`../../dist/${path}`, import.meta.url);
  if (!existsSync(fileURLToPath(url)))
    throw new Error(`dist/${path} is missing: run the benchmarks with bash bench/run.sh (it builds dist/)`);
  return (await import(url.href)) as T;
}
