import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { WORKER_YOUNG_GENERATION_MB } from './young-generation.js';

/** The URL of tsx's ESM register API (`tsx/esm/api`, import condition), found from its package.json. */
function tsxEsmApi(from: string): string {
  let manifest: string;
  try {
    manifest = createRequire(from).resolve('tsx/package.json');
  } catch (cause) {
    throw new Error(
      'a TypeScript worker needs tsx (a devDependency); production runs the build: npm run build, then node dist/gateway/src/main.js',
      {
        cause,
      },
    );
  }
  const exports = JSON.parse(readFileSync(manifest, 'utf8')).exports['./esm/api'];
  return pathToFileURL(join(dirname(manifest), exports.import.default)).href;
}

/**
 * The module `name` beside the module at `from` (its `import.meta.url`), as a worker's entry: the `.ts` source when
 * that module runs from source (the tests), the built `.js` when it runs from `dist/`.
 */
export function moduleBeside(from: string, name: string): URL {
  return new URL(`./${name}${from.endsWith('.ts') ? '.ts' : '.js'}`, from);
}

/**
 * A worker thread running the module at `entry`. A `.js` module (the built gateway, `node dist/…`) runs as it
 * is, with no loader (the telemetry lane's young generation unless `resourceLimits` says otherwise); a `.ts` module (the gateway run from source by the tests) is loaded through tsx, which
 * workers do not inherit. A module that fails to load posts `{ type: 'failed', message }` to its parent.
 */
export function spawnModuleWorker(
  entry: URL,
  workerData: unknown,
  resourceLimits: ResourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData, resourceLimits });
  const bootstrap = [
    `import(${JSON.stringify(tsxEsmApi(import.meta.url))})`,
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
    ".catch((error) => require('node:worker_threads').parentPort.postMessage({ type: 'failed', message: String(error?.stack ?? error) }));",
  ].join('');
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}
