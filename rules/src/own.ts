/**
 * A record's own value for `key`, never one inherited from Object.prototype: names in rule files,
 * attributes and templates are written by people and devices, and `constructor` or `toString` is a
 * missing name there, not a function.
 */
export const ownValue = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;

/**
 * Paths of every `__proto__` key in a parsed YAML or JSON tree. Such a key is never meaningful in a rule or
 * config file, and zod drops it from records without a word, so files are checked for it first.
 */
export function protoKeyPaths(value: unknown, path: PropertyKey[] = [], found: PropertyKey[][] = []): PropertyKey[][] {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) protoKeyPaths(value[index], [...path, index], found);
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) {
      if (key === '__proto__') found.push([...path, key]);
      else protoKeyPaths((value as Record<string, unknown>)[key], [...path, key], found);
    }
  }
  return found;
}

export const PROTO_KEY_MESSAGE = '"__proto__" is not a valid key';
