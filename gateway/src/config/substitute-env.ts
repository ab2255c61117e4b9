import type { FileProblem } from './problems.js';
import { formatPath } from './problems.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` (or `${NAME:-default}`) in every string of a parsed config with the environment
 * variable, so secrets need not live in the file. A missing variable without a default is a problem.
 */
export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  file: string,
  problems: FileProblem[],
  path: PropertyKey[] = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
      const found = Object.hasOwn(env, name) ? env[name] : undefined;
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      problems.push({ file, line: null, path: formatPath(path) || '(root)', message: `environment variable ${name} is not set` });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, file, problems, [...path, index]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, file, problems, [...path, key])]));
  }
  return value;
}
