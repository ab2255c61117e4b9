import { hashSecret, verifySecret } from '../devices/secret-hash.js';

/** Passwords people chose: scrypt (N=16384, r=8, p=1) with a salt of their own, compared in constant time. */
export const MIN_PASSWORD_LENGTH = 10;

/** The stored form of a password, `scrypt$<salt b64>$<hash b64>` (`npm run hash-secret -- --scheme scrypt` makes the same). */
export const hashPassword = (password: string): Promise<string> => hashSecret(password, 'scrypt');

/** Only scrypt hashes are accepted for people: a fast hash (`sha256$`) is for machine-made secrets. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!stored.startsWith('scrypt$')) return false;
  return verifySecret(password, stored);
}

/** A fixed hash to verify against when the user is unknown, so that the answer takes as long as for a known one. */
let decoy: Promise<string> | null = null;
export async function verifyNothing(password: string): Promise<false> {
  decoy ??= hashPassword('not-a-password-of-anyone');
  await verifySecret(password, await decoy);
  return false;
}
