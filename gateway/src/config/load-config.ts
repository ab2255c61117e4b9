import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { PROFILES } from '../../../profiles/index.js';
import { PROTO_KEY_MESSAGE, protoKeyPaths, yamlTree } from '../../../rules/src/index.js';
import { GatewayError } from '../errors.js';
import { configSchema, type GatewayConfig } from './config-schema.js';
import { type FileProblem, formatPath, LineCounter, lineOf, problemsFromZod, renderProblem } from './problems.js';
import { asTyped, substituteEnv } from './substitute-env.js';

/** Validates a config object: schema, then what the schema cannot know (profiles, device attributes). */
export function validateConfig(raw: unknown, file: string, locate?: (path: readonly PropertyKey[]) => number | null): GatewayConfig {
  const protoKeys = protoKeyPaths(raw);
  if (protoKeys.length > 0)
    throw configError(
      protoKeys.map((path) => ({ file, line: locate?.(path) ?? null, path: formatPath(path), message: PROTO_KEY_MESSAGE })),
    );
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw configError(problemsFromZod(parsed.error, file, locate));
  const config = parsed.data;
  const problems: FileProblem[] = [];
  config.devices.forEach((device, index) => {
    const profile = PROFILES.get(device.profile);
    const at = (...rest: PropertyKey[]): { path: string; line: number | null } => {
      const path = ['devices', index, ...rest];
      return { path: formatPath(path), line: locate?.(path) ?? null };
    };
    if (!profile) {
      problems.push({ file, ...at('profile'), message: unknownProfile(device.profile) });
      return;
    }
    const attributes = profile.attributes.safeParse(device.attributes);
    if (!attributes.success) {
      for (const issue of attributes.error.issues) problems.push({ file, ...at('attributes', ...issue.path), message: issue.message });
    } else {
      device.attributes = attributes.data;
    }
  });
  config.handling.escalation.forEach((policy, index) => {
    policy.match.profiles?.forEach((profile, at) => {
      if (!PROFILES.has(profile)) {
        const path = ['handling', 'escalation', index, 'match', 'profiles', at];
        problems.push({ file, path: formatPath(path), line: locate?.(path) ?? null, message: unknownProfile(profile) });
      }
    });
  });
  // read at start by the TLS listener: a file it cannot read is a problem of the configuration, found by --check
  const tls = config.mqtt.tls;
  for (const key of ['cert', 'key', 'ca'] as const) {
    const path = tls?.[key];
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      const at = ['mqtt', 'tls', key];
      problems.push({
        file,
        path: formatPath(at),
        line: locate?.(at) ?? null,
        message: `cannot read ${path}: ${(error as Error).message}`,
      });
    }
  }
  if (problems.length > 0) throw configError(problems);
  return config;
}

const unknownProfile = (name: string): string => `unknown profile "${name}" (known: ${[...PROFILES.keys()].join(', ')})`;

/**
 * Where the schema wants a number or a boolean and finds text: the places a `${…}` value may be read as one (a
 * duration takes milliseconds as a number: `timeout: ${HOOK_TIMEOUT:-5000}`).
 */
function typedValuesWanted(raw: unknown): Array<{ path: readonly PropertyKey[]; expected: string }> {
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return [];
  return parsed.error.issues.flatMap((issue) => {
    if (issue.code === 'invalid_type' && (issue.expected === 'number' || issue.expected === 'boolean'))
      return [{ path: issue.path, expected: issue.expected }];
    return issue.code === 'custom' && issue.message.startsWith('expected a duration') ? [{ path: issue.path, expected: 'number' }] : [];
  });
}

/**
 * What a configuration names that no device of its registry has: a site in a webhook filter or an escalation policy
 * (a misspelt one would quietly match nothing). Warnings, not problems: a site may be named before its devices come.
 */
export function configWarnings(config: GatewayConfig): Array<{ key: string; site: string }> {
  const sites = new Set(config.devices.map((device) => device.site));
  const warnings: Array<{ key: string; site: string }> = [];
  config.webhooks.forEach((subscriber, index) => {
    for (const site of subscriber.filter.sites ?? []) if (!sites.has(site)) warnings.push({ key: `webhooks[${index}].filter.sites`, site });
  });
  config.handling.escalation.forEach((policy, index) => {
    for (const site of policy.match.sites ?? [])
      if (!sites.has(site)) warnings.push({ key: `handling.escalation[${index}].match.sites`, site });
  });
  return warnings;
}

/**
 * Reads, substitutes `${ENV}` and validates a YAML config file; throws `config_invalid` listing every problem.
 * `including`: the files whose `deviceFiles` led here (a file that includes itself, at any remove, is a problem).
 */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv, including: readonly string[] = []): GatewayConfig {
  // a file included by deviceFiles is a part of the registry: anything else in it would be silently unread
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GatewayError('config_unreadable', `cannot read config file ${file}: ${(cause as Error).message}`, undefined, { cause });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw configError(
      doc.errors.map((error) => ({
        file,
        line: error.linePos?.[0]?.line ?? null,
        path: '(yaml)',
        message: error.message.split('\n')[0] ?? error.message,
      })),
    );
  }
  const data = yamlTree(doc);
  if (!data.ok) throw configError([{ file, line: null, path: '(yaml)', message: data.message }]);
  const problems: FileProblem[] = [];
  const whole = new Map<string, string>();
  const substituted = substituteEnv(data.tree ?? {}, env, file, problems, [], whole);
  const locate = (path: readonly PropertyKey[]): number | null => lineOf(doc, lines, path);
  for (const problem of problems)
    problem.line = locate(
      problem.path
        .split(/[.[\]]/)
        .filter(Boolean)
        .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
    );
  if (including.length > 0 && substituted && typeof substituted === 'object')
    for (const key of Object.keys(substituted))
      if (key !== 'devices' && key !== 'deviceFiles')
        problems.push({
          file,
          line: locate([key]),
          path: key,
          message: 'a device file holds devices (and deviceFiles) only: this is not read here',
        });
  if (problems.length > 0) throw configError(problems);
  const raw = whole.size === 0 ? substituted : asTyped(substituted, whole, typedValuesWanted(substituted));
  const config = validateConfig(raw, file, locate);
  if (config.deviceFiles.length === 0) return config;
  // The registry files' devices are checked as the config's own would be, each problem named in its own file.
  // real paths: a symbolic link to a file of the chain is that file
  const chain = [...including, realpathSync(file)];
  for (const [index, deviceFile] of config.deviceFiles.entries()) {
    const real = realPathOrSelf(deviceFile);
    if (chain.includes(real)) {
      const path = ['deviceFiles', index];
      const message = `${deviceFile} includes itself (${[...chain, real].join(' → ')})`;
      throw configError([{ file, line: locate(path), path: formatPath(path), message }]);
    }
    let registry: GatewayConfig;
    try {
      registry = loadConfigFile(deviceFile, env, chain);
    } catch (error) {
      if (!(error instanceof GatewayError) || error.code !== 'config_unreadable') throw error;
      const path = ['deviceFiles', index];
      throw configError([{ file, line: locate(path), path: formatPath(path), message: error.message }]);
    }
    config.devices.push(...registry.devices);
  }
  return validateConfig({ ...(raw as object), deviceFiles: [], devices: config.devices }, file, locate);
}

/** The file's real path; a file that cannot be read keeps its name (reading it says why). */
function realPathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function configError(problems: FileProblem[]): GatewayError {
  return new GatewayError('config_invalid', `invalid configuration:\n${problems.map((p) => `  ${renderProblem(p)}`).join('\n')}`, problems);
}
