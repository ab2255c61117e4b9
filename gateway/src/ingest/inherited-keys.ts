/**
 * zod leaves a `__proto__` key out of a record without a word, so a payload `{"metrics":{"__proto__":1}}`
 * would be acknowledged as accepted with nothing in it. Every object of the payload whose keys are names
 * (metrics, units) is looked at here first, and such a key is refused as the unknown name it is.
 * Returns the path of the first one found (`readings[3].units.__proto__`), or null.
 */
export function findProtoKey(value: unknown): string | null {
  if (!isObject(value)) return null;
  const own = (holder: unknown, field: 'metrics' | 'units', where: string): string | null => {
    const names = isObject(holder) ? holder[field] : undefined;
    return isObject(names) && Object.hasOwn(names, '__proto__') ? `${where}${field}.__proto__` : null;
  };
  const top = own(value, 'metrics', '') ?? own(value, 'units', '');
  if (top) return top;
  const readings = value.readings;
  if (!Array.isArray(readings)) return null;
  for (let index = 0; index < readings.length; index += 1) {
    const found = own(readings[index], 'metrics', `readings[${index}].`) ?? own(readings[index], 'units', `readings[${index}].`);
    if (found) return found;
  }
  return null;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
