import { Command } from 'commander';
import { hashSecret } from '../devices/secret-hash.js';
import { withUsageExit } from './usage-exit.js';

/** `npm run hash-secret -- <secret> [--scheme scrypt]` (or the secret on stdin): prints the registry's `secretHash`. */
async function main(): Promise<void> {
  const program = withUsageExit(new Command())
    .name('hash-secret')
    .description(
      'Hash a device secret (devices[].secretHash), an API token (api.tokens[].tokenHash) or, with --scheme scrypt, a password (api.users[].passwordHash)',
    )
    .argument('[secret]', 'the device secret (read from stdin when omitted)')
    .option('--scheme <scheme>', 'sha256 (machine-generated secrets, fast to verify) or scrypt (secrets people chose)', 'sha256')
    .addHelpText(
      'after',
      `
Examples:
  npm run -s hash-secret -- 'the-device-secret'
  printf %s "$TOKEN" | npm run -s hash-secret -- --scheme scrypt

Exit status: 0 printed the hash, 2 invalid arguments or no secret.`,
    )
    .parse();
  const scheme = program.opts<{ scheme: string }>().scheme;
  if (scheme !== 'sha256' && scheme !== 'scrypt') program.error('--scheme must be sha256 or scrypt');
  let secret = program.args[0];
  if (!secret) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    secret = Buffer.concat(chunks).toString('utf8').trim();
  }
  if (!secret) program.error('give the secret as an argument or on stdin');
  process.stdout.write(`${await hashSecret(secret, scheme as 'sha256' | 'scrypt')}\n`);
}

void main();
