import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { spawnModuleWorker } from './spawn-worker.js';
import { NODE_HEAP_ARGS, WORKER_YOUNG_GENERATION_MB } from './young-generation.js';

const ROOT = join(import.meta.dirname, '../../..');

describe('the young generation the gateway runs with', () => {
  it('is on the command line of every way the gateway ships: the image and npm run gateway', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = JSON.parse((/^ENTRYPOINT (.*)$/m.exec(dockerfile) ?? [])[1] ?? '[]') as string[];
    expect(entrypoint).toEqual(['node', ...NODE_HEAP_ARGS, 'dist/gateway/src/main.js']);
    const runBuilt = readFileSync(join(ROOT, 'scripts/run-built.sh'), 'utf8');
    expect(runBuilt).toContain(`exec node ${NODE_HEAP_ARGS.join(' ')} "$root/dist/$entry" "$@"`);
  });

  it("is the lane worker's, by its resource limits, whatever node was started with", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'young-'));
    const module = join(dir, 'limits.mjs');
    writeFileSync(module, "import { parentPort, resourceLimits } from 'node:worker_threads'; parentPort.postMessage(resourceLimits);");
    const worker = spawnModuleWorker(pathToFileURL(module), null);
    const limits = await new Promise<{ maxYoungGenerationSizeMb: number }>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(limits.maxYoungGenerationSizeMb).toBe(WORKER_YOUNG_GENERATION_MB);
  });
});
