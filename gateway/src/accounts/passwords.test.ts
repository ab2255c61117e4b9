import { describe, expect, it } from 'vitest';
import { hashSecret } from '../devices/secret-hash.js';
import { hashPassword, verifyNothing, verifyPassword } from './passwords.js';

describe('passwords', () => {
  it('hashes with scrypt and a salt of its own: the same password gives different hashes, neither holding it', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse 电池'), hashPassword('correct horse 电池')]);
    expect(a).toMatch(/^scrypt\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a.split('$')[1]).not.toBe(b.split('$')[1]);
    expect(a).not.toContain('correct');
  });

  it('verifies the right password only', async () => {
    const stored = await hashPassword('correct horse 电池');
    expect(await verifyPassword('correct horse 电池', stored)).toBe(true);
    expect(await verifyPassword('correct horse 电', stored)).toBe(false);
    expect(await verifyPassword('Correct horse 电池', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('refuses a fast sha256$ hash and garbage for a person’s password', async () => {
    expect(await verifyPassword('machine-secret-000', await hashSecret('machine-secret-000', 'sha256'))).toBe(false);
    expect(await verifyPassword('x', 'scrypt$$')).toBe(false);
    expect(await verifyPassword('x', 'plain')).toBe(false);
  });

  it('spends a verification on an unknown user too, and says no', async () => {
    const started = performance.now();
    expect(await verifyNothing('anything')).toBe(false);
    expect(performance.now() - started).toBeGreaterThan(5);
  });
});
