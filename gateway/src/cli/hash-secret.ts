import { hashSecret } from '../devices/secret-hash.js';

/** `npm run hash-secret -- <secret>` (or the secret on stdin): prints the registry's `secretHash` value. */
async function main(): Promise<void> {
  let secret = process.argv[2];
  if (!secret) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    secret = Buffer.concat(chunks).toString('utf8').trim();
  }
  if (!secret) {
    process.stderr.write('usage: npm run hash-secret -- <secret>   (or pipe the secret on stdin)\n');
    process.exit(2);
  }
  process.stdout.write(`${await hashSecret(secret)}\n`);
}

void main();
