import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createHostLookup } from './host-lookup.js';

/** What a server answered: status, headers and up to MAX_ANSWER_BYTES of the body, as text. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** The most of an answer's body kept: sinks read a status, an errcode or an error message, never more. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * A kept-alive connection unused this long is closed (as undici does): a server or proxy that drops idle connections
 * without a word (60 s behind many load balancers) would otherwise fail the next request on a dead socket.
 */
const IDLE_SOCKET_MS = 4_000;

/**
 * Kept-alive connections for the sinks' requests, one pool per scheme. `fetch` (undici) cost 2–3× the CPU of
 * `node:http` per request and several more turns of the event loop between the call and the bytes on the wire: a
 * webhook under load took a median 3.9 ms from send to the receiver (bench `--only latency`, session 16).
 */
const AGENTS = {
  'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

/**
 * Names of receivers and servers, kept once resolved: a DNS server that stops answering does not stop deliveries to
 * receivers resolved before. An answer is looked up again after 10 s (0.5 s of waiting for that, then the older one
 * serves, for a day at most).
 */
const LOOKUP = createHostLookup({ freshMs: 10_000, refreshWaitMs: 500, staleMs: 24 * 3_600_000, now: Date.now });

/**
 * Sends one request and reads its answer. Fails (rejects) on a network error or when `timeoutMs` passes before the
 * answer is read, with the socket's own message (`connect ECONNREFUSED 127.0.0.1:9`, `The operation was aborted
 * due to timeout`). Redirects are answers, not followed. A body past MAX_ANSWER_BYTES is not read on: the answer is
 * what came, the connection is closed. `statusOnly`: the answer is its status line and headers (body ''), as soon as
 * they come — a receiver that accepted with 2xx and then trickles its body is not a failure; the body is drained
 * in the background (cut after `timeoutMs`).
 */
export function httpSend(
  method: 'GET' | 'POST',
  url: string,
  options: { body?: string | Buffer; headers?: Record<string, string>; timeoutMs: number; statusOnly?: boolean },
): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : null;
  if (send === null) return Promise.reject(new Error(`unsupported protocol ${target.protocol} (http: or https:)`));
  // sent whole by `end`: node writes its Content-Length (no chunked encoding)
  const body = options.body ?? null;
  const headers = options.headers ?? {};
  return new Promise((done, fail) => {
    // Not AbortSignal.timeout: its timer is cleared only when the signal is collected, so each request's fired later
    // and made a DOMException with its stack (about 0.1 ms on the main thread per webhook at 5k msg/s, a CPU profile).
    const controller = new AbortController();
    /** Started once the request exists: a request that cannot be made (a header node refuses) leaves no timer behind. */
    let timer: NodeJS.Timeout | undefined;
    const resolve = (answer: HttpAnswer): void => {
      clearTimeout(timer);
      done(answer);
    };
    const reject = (error: unknown): void => {
      clearTimeout(timer);
      fail(error);
    };
    const request = send(
      target,
      { method, headers, agent: AGENTS[target.protocol as keyof typeof AGENTS], signal: controller.signal, lookup: LOOKUP },
      (response: IncomingMessage) => {
        const answer = (body: string): HttpAnswer => ({ status: response.statusCode ?? 0, headers: headersOf(response), body });
        if (options.statusOnly) {
          resolve(answer(''));
          const cut = setTimeout(() => response.destroy(), options.timeoutMs);
          response.on('close', () => clearTimeout(cut));
          response.on('error', () => undefined); // after the answer: nothing waits for it
          response.resume();
          return;
        }
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          kept += chunk.length;
          if (kept < MAX_ANSWER_BYTES) return;
          // enough to judge by: what follows is not read (a receiver streaming without end costs nothing)
          resolve(answer(Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8')));
          response.destroy();
        });
        response.on('error', reject);
        response.on('end', () => resolve(answer(Buffer.concat(chunks).toString('utf8'))));
      },
    );
    request.on('error', (error: Error & { cause?: unknown }) =>
      // an abort's own message says only "aborted"; its reason (the timeout) says why
      reject(error.name === 'AbortError' && error.cause instanceof Error ? error.cause : error),
    );
    timer = setTimeout(
      () => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      options.timeoutMs,
    );
    request.end(body ?? undefined);
  });
}

function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}
