import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks v1 signature: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the
 * base64-decoded part of `whsec_…`. One `v1,<sig>` per secret, space-separated, during key rotation.
 */
export function signatureHeader(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
    })
    .join(' ');
}
