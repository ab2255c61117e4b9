import { describe, expect, it } from 'vitest';
import { createSecretVerifier, hashSecret, verifySecret } from './secret-hash.js';

describe('device secret hashes', () => {
  it.each(['sha256', 'scrypt'] as const)('%s: verifies the secret and nothing else, with a fresh salt each time', async (scheme) => {
    const stored = await hashSecret('d3vice-s3cret', scheme);
    expect(stored.startsWith(`${scheme}$`)).toBe(true);
    expect(await verifySecret('d3vice-s3cret', stored)).toBe(true);
    expect(await verifySecret('d3vice-s3cret ', stored)).toBe(false);
    expect(await verifySecret('', stored)).toBe(false);
    expect(await hashSecret('d3vice-s3cret', scheme)).not.toBe(stored);
  });

  it('refuses unknown schemes and malformed hashes', async () => {
    expect(await verifySecret('x', 'md5$YQ==$YQ==')).toBe(false);
    expect(await verifySecret('x', 'sha256$only-two')).toBe(false);
  });

  it('the verifier remembers a verified secret but checks a different one again', async () => {
    const verify = createSecretVerifier();
    const stored = await hashSecret('right', 'scrypt');
    expect(await verify('right', stored)).toBe(true);
    expect(await verify('right', stored)).toBe(true);
    expect(await verify('wrong', stored)).toBe(false);
  });
});
