import type { FileProblem } from './problems.js';
import { formatPath } from './problems.js';

/** `$${` (a literal `${`), or a reference: `${NAME}` or `${NAME:-default}`. */
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** A value that is one reference and nothing else: its text may stand for a number or a boolean (`port: ${PORT}`). */
const WHOLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Replaces `${NAME}` (or `${NAME:-default}`, the default also when NAME is set but empty, as in a shell) in every
 * string of a parsed config with the environment variable, so secrets need not live in the file; `$${` is a literal
 * `${`. A missing variable without a default is a problem. `whole`, if given, is told the path of each value that was
 * one reference alone (formatPath), with the text it became: `asTyped` reads those as numbers or booleans where the
 * schema wants one.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  file: string,
  problems: FileProblem[],
  path: PropertyKey[] = [],
  whole?: Map<string, string>,
): unknown {
  if (typeof value === 'string') {
    const text = value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return '${';
      const found = Object.hasOwn(env, name) ? env[name] : undefined;
      if (found !== undefined && !(found === '' && fallback !== undefined)) return found;
      if (fallback !== undefined) return fallback;
      problems.push({ file, line: null, path: formatPath(path) || '(root)', message: `environment variable ${name} is not set` });
      return match;
    });
    if (whole && WHOLE.test(value)) whole.set(formatPath(path), text);
    return text;
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, file, problems, [...path, index], whole));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, file, problems, [...path, key], whole)]),
    );
  }
  return value;
}

/**
 * `raw` with the values that were one reference alone (`whole`) read as a number or a boolean where `wants` says the
 * schema expects one there (`port: ${MQTT_PORT:-1883}`, `enabled: ${LAB:-false}`); any other text stays text, and the
 * schema says what is wrong with it.
 */
export function asTyped(
  raw: unknown,
  whole: ReadonlyMap<string, string>,
  wants: ReadonlyArray<{ path: readonly PropertyKey[]; expected: string }>,
): unknown {
  for (const { path, expected } of wants) {
    const text = whole.get(formatPath(path));
    if (text === undefined) continue;
    const typed =
      expected === 'number' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text.trim())
        ? Number(text)
        : expected === 'boolean' && (text === 'true' || text === 'false')
          ? text === 'true'
          : undefined;
    if (typed === undefined) continue;
    let node = raw as Record<PropertyKey, unknown>;
    for (const key of path.slice(0, -1)) node = node[key as string] as Record<PropertyKey, unknown>;
    node[path[path.length - 1] as string] = typed;
  }
  return raw;
}
