import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  event: any;
  /** Verified with the reference Standard Webhooks library against the subscriber's secret. */
  verified: boolean;
  verifyError: string | null;
  /** When the request arrived (Date.now(), measured by the receiver). */
  at: number;
  /** The request's path (each subscriber of one receiver may post to its own). */
  path: string;
}

/** A scripted answer: a status, a status with headers, or `'hang'` (never answer; the request stays open). */
export type ScriptedAnswer = number | { status: number; headers?: Record<string, string> } | 'hang';

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Answers to give, in order; when exhausted the receiver answers 204. */
  respondWith(statuses: ScriptedAnswer[]): void;
  close(): Promise<void>;
}

/**
 * A real HTTP receiver that verifies every delivery's Standard Webhooks signature independently of the gateway.
 * `port`: listen there (a receiver coming back where a gateway already sends); a free port by default.
 */
export async function startWebhookReceiver(secret: string, port = 0): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  let script: ScriptedAnswer[] = [];
  const server: Server = createServer((request, response) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      let verifyError: string | null = null;
      try {
        verifier.verify(body, {
          'webhook-id': String(request.headers['webhook-id']),
          'webhook-timestamp': String(request.headers['webhook-timestamp']),
          'webhook-signature': String(request.headers['webhook-signature']),
        });
        verified = true;
      } catch (error) {
        verifyError = (error as Error).message;
      }
      received.push({ headers: request.headers, body, event: JSON.parse(body), verified, verifyError, at, path: request.url ?? '' });
      const next = script.shift() ?? 204;
      if (next === 'hang') return;
      const { status, headers } =
        typeof next === 'number' ? { status: next, headers: {} } : { status: next.status, headers: next.headers ?? {} };
      response.writeHead(status, headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    respondWith(statuses) {
      script = [...statuses];
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
