import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEY_LENGTH = 32;
const COST = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function derive(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, COST, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$<salt>$<hash>` (base64), as the device registry stores device secrets. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await derive(secret, Buffer.from(salt, 'base64'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Remembers secrets already verified against a stored hash (as a SHA-256 fingerprint), so a fleet
 * reconnecting at once does not cost one scrypt each; a changed secret or hash verifies afresh.
 */
export function createSecretVerifier(): (secret: string, stored: string) => Promise<boolean> {
  const verified = new Map<string, string>();
  return async (secret, stored) => {
    const fingerprint = createHash('sha256').update(stored).update('\0').update(secret).digest('base64');
    if (verified.get(stored) === fingerprint) return true;
    const ok = await verifySecret(secret, stored);
    if (ok) verified.set(stored, fingerprint);
    return ok;
  };
}
