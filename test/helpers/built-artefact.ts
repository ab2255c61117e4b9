import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * What production runs, assembled the way the Dockerfile does: `scripts/build.sh` (what `npm run build` runs)
 * compiles the current sources into `<dir>/dist`, beside `package.json` and a `node_modules` holding only the
 * packages package-lock.json does not mark as dev (hard-linked from the project's, so no download). tsx,
 * TypeScript, vitest and every other devDependency are absent: code that reaches for one fails to load.
 */
export interface BuiltArtefact {
  dir: string;
  /** Plain `node` with no loader, NODE_OPTIONS or NODE_PATH, in `dir`; `env` replaces the whole environment (default {@link env}). */
  node(args: string[], options?: { env?: Record<string, string>; input?: string; timeoutMs?: number }): SpawnSyncReturns<string>;
  /** The environment a production process gets: this one without NODE_* variables, plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
}

const ROOT = join(dirname(new URL(import.meta.url).pathname), '../..');

export function buildArtefact(): BuiltArtefact {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-artefact-'));
  const build = spawnSync('bash', ['scripts/build.sh', join(dir, 'dist')], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (build.status !== 0) throw new Error(`npm run build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));

  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    // Top-level packages only: a nested node_modules travels inside its parent.
    if (!path.startsWith('node_modules/') || path.slice('node_modules/'.length).includes('node_modules/')) continue;
    if (entry.dev || entry.devOptional) continue;
    const from = join(ROOT, path);
    if (!existsSync(from)) continue; // an optional package for another platform
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    const copy = spawnSync('cp', ['-al', from, join(dir, path)], { encoding: 'utf8' });
    if (copy.status !== 0) cpSync(from, join(dir, path), { recursive: true });
  }

  const env = (extra: Record<string, string> = {}): Record<string, string> => {
    const clean: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('NODE_')) clean[key] = value;
    return { ...clean, ...extra };
  };
  return {
    dir,
    env,
    node: (args, options = {}) =>
      spawnSync(process.execPath, args, {
        cwd: dir,
        encoding: 'utf8',
        env: options.env ?? env(),
        timeout: options.timeoutMs ?? 30_000,
        ...(options.input === undefined ? {} : { input: options.input }),
      }),
  };
}
