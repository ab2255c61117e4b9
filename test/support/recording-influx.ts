import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request the stand-in InfluxDB received. */
export interface ReceivedRequest {
  method: string;
  /** As sent: path and query. */
  url: string;
  path: string;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Bytes on the wire (compressed, when gzipped). */
  bytes: number;
  /** The body as text, gunzipped when it came gzipped. */
  body: string;
}

export interface InfluxAnswer {
  status: number;
  /** Sent as JSON (InfluxDB's error and query answers are). */
  body?: string;
  delayMs?: number;
}

export interface RecordingInflux {
  url: string;
  received: ReceivedRequest[];
  server: Server;
}

const servers: Server[] = [];

/**
 * A real HTTP server on 127.0.0.1 standing in for InfluxDB (1.x or 2.x): records each request and answers with
 * `answer`. Close them all after each test with `closeRecordingInfluxes`.
 */
export async function recordingInflux(answer: (request: ReceivedRequest) => InfluxAnswer): Promise<RecordingInflux> {
  const received: ReceivedRequest[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(request.url ?? '', 'http://influx');
      const entry: ReceivedRequest = {
        method: request.method ?? '',
        url: request.url ?? '',
        path: url.pathname,
        params: Object.fromEntries(url.searchParams),
        headers: request.headers,
        bytes: raw.length,
        body: request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString(),
      };
      received.push(entry);
      const { status, body, delayMs } = answer(entry);
      setTimeout(() => response.writeHead(status, body ? { 'content-type': 'application/json' } : {}).end(body), delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

/** Closes every stand-in started so far, with the connections a test left open. */
export async function closeRecordingInfluxes(): Promise<void> {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
