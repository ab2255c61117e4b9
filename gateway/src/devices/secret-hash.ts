import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Device secrets in the registry, as `<scheme>$<salt b64>$<hash b64>`:
 * - `sha256`: HMAC-SHA256 keyed with the salt — for machine-generated secrets (≥ 128 bits of entropy, as
 *   provisioning tools make them), verified in microseconds, so a fleet of thousands reconnecting after a
 *   restart is not held up (EMQX's built-in authentication defaults to salted SHA-256 for the same reason);
 * - `scrypt` (N=16384, r=8, p=1): for secrets a person chose; ~50 ms of a libuv thread per first
 *   verification of a secret (then remembered, see createSecretVerifier).
 */
export type SecretScheme = 'sha256' | 'scrypt';

const KEY_LENGTH = 32;
const SCRYPT_COST = { N: 16_384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

function scryptKey(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEY_LENGTH, SCRYPT_COST, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** The `sha256` scheme's key: HMAC-SHA256 of the secret keyed with the salt (also used for hashed API tokens). */
export const hmacKey = (secret: string, salt: Buffer): Buffer => createHmac('sha256', salt).update(secret).digest();

export async function hashSecret(secret: string, scheme: SecretScheme = 'sha256'): Promise<string> {
  const salt = randomBytes(16);
  const key = scheme === 'scrypt' ? await scryptKey(secret, salt) : hmacKey(secret, salt);
  return `${scheme}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, saltText, hashText] = stored.split('$');
  if (!saltText || !hashText) return false;
  const salt = Buffer.from(saltText, 'base64');
  const expected = Buffer.from(hashText, 'base64');
  let actual: Buffer;
  if (scheme === 'sha256') actual = hmacKey(secret, salt);
  else if (scheme === 'scrypt') actual = await scryptKey(secret, salt);
  else return false;
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Remembers secrets already verified against a stored hash (as a SHA-256 fingerprint), so a fleet
 * reconnecting at once does not pay a slow hash again; a changed secret or hash verifies afresh.
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
