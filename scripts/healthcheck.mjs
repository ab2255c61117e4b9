// The container's HEALTHCHECK (Dockerfile): GET /healthz (or the path given) on the HTTP port the running gateway
// was configured with, so a config with another `http.port` needs no second setting. The port comes from, first
// to answer: HEALTHCHECK_PORT; `http.port` of the file after `--config` on the gateway's command line, or of
// GATEWAY_CONFIG, relative to the gateway's working directory (PID 1,
// or the process `docker run --init` starts, whose arguments PID 1 repeats; HEALTHCHECK_PID names another);
// 8080, the default. `${VAR}` in http.port or http.host is not substituted (set HEALTHCHECK_PORT then). Exit 0
// healthy, 1 not. Plain JavaScript: the image has no TypeScript loader.
//   node scripts/healthcheck.mjs [/healthz]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

function target() {
  if (process.env.HEALTHCHECK_PORT) return { host: '127.0.0.1', port: Number(process.env.HEALTHCHECK_PORT) };
  const pid = process.env.HEALTHCHECK_PID ?? '1';
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const at = args.indexOf('--config');
  // as the gateway reads it: --config, else GATEWAY_CONFIG; a relative path from the gateway's working directory
  const named =
    (at >= 0 ? args[at + 1] : args.find((arg) => arg.startsWith('--config='))?.slice('--config='.length)) ?? process.env.GATEWAY_CONFIG;
  const file = named ? resolve(`/proc/${pid}/cwd`, named) : undefined;
  const http = file ? (parse(readFileSync(file, 'utf8'))?.http ?? {}) : {};
  const host = !http.host || http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  return { host: host.includes(':') ? `[${host}]` : host, port: http.port ?? 8080 };
}

try {
  const { host, port } = target();
  const response = await fetch(`http://${host}:${port}${process.argv[2] ?? '/healthz'}`, { signal: AbortSignal.timeout(2_500) });
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
