import { describe, expect, it } from 'vitest';
import { validateConfig } from './load-config.js';

describe('a config file with a __proto__ key', () => {
  it('is refused with the path of the key, where zod alone would drop it without a word', () => {
    const raw = JSON.parse(
      '{"devices":[{"id":"dc-01","site":"s","profile":"dust-collector","secretHash":"sha256$c2FsdA==$aGFzaA==","attributes":{"__proto__":{"x":1}}}]}',
    );
    expect(() => validateConfig(raw, 'gateway.yaml')).toThrow(
      'gateway.yaml: devices[0].attributes.__proto__: "__proto__" is not a valid key',
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
