import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { httpSend } from './http-send.js';

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve(handler: RequestListener): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer(handler);
  server.on('connection', () => {
    connections += 1;
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, connections: () => connections };
}

describe("the sinks' HTTP client", () => {
  it('sends the body with its length and reads status, headers and body', async () => {
    const { url } = await serve((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        response.setHeader('retry-after', '7');
        response.setHeader('set-cookie', ['a=1', 'b=2']);
        response.writeHead(429).end(`${request.headers['content-length']}:${Buffer.concat(chunks).toString()}`);
      });
    });
    const answer = await httpSend('POST', url, { body: '温度 72.5', headers: { 'content-type': 'text/plain' }, timeoutMs: 2_000 });
    expect(answer.status).toBe(429);
    expect(answer.body).toBe(`${Buffer.byteLength('温度 72.5')}:温度 72.5`);
    expect(answer.headers.get('retry-after')).toBe('7');
    expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('keeps the connection for the next request', async () => {
    const { url, connections } = await serve((_request, response) => response.writeHead(204).end());
    for (let i = 0; i < 5; i += 1) expect((await httpSend('POST', url, { body: 'x', timeoutMs: 2_000 })).status).toBe(204);
    expect(connections()).toBe(1);
  });

  it('closes a kept connection left unused for 4 s (before a server or proxy drops it without a word)', async () => {
    let closedAfter: number | null = null;
    const { url } = await serve((_request, response) => response.writeHead(204).end());
    const server = servers[servers.length - 1] as Server;
    const done = performance.now();
    server.on('connection', (socket) =>
      socket.on('close', () => {
        closedAfter = performance.now() - done;
      }),
    );
    await httpSend('POST', url, { body: 'x', timeoutMs: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 4_600));
    expect(closedAfter).not.toBeNull();
    expect(closedAfter).toBeGreaterThanOrEqual(3_900);
  }, 10_000);

  it('keeps at most 64 KiB of an answer, however much the server sends', async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(500);
      response.end(Buffer.alloc(4 * 1024 * 1024, 'e'));
    });
    const answer = await httpSend('POST', url, { body: 'x', timeoutMs: 5_000 });
    expect(answer.status).toBe(500);
    expect(answer.body.length).toBe(64 * 1024);
  });

  it('stops reading past 64 KiB: a body that never ends is answered with what came, not a timeout', async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(200);
      const more = setInterval(() => response.write(Buffer.alloc(16 * 1024, 'x')), 5);
      response.on('close', () => clearInterval(more));
    });
    const started = performance.now();
    const answer = await httpSend('POST', url, { body: 'x', timeoutMs: 3_000 });
    expect([answer.status, answer.body.length]).toEqual([200, 64 * 1024]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('statusOnly: answers on the status line, a body trickling in after a 2xx is no failure (and is cut at the timeout)', async () => {
    let closed = false;
    const { url } = await serve((_request, response) => {
      response.writeHead(202, { 'retry-after': '3' });
      const more = setInterval(() => response.write('.'), 50);
      response.on('close', () => {
        clearInterval(more);
        closed = true;
      });
    });
    const answer = await httpSend('POST', url, { body: 'x', timeoutMs: 500, statusOnly: true });
    expect([answer.status, answer.body, answer.headers.get('retry-after')]).toEqual([202, '', '3']);
    // reading everything, the same receiver times out
    await expect(httpSend('POST', url, { body: 'x', timeoutMs: 500 })).rejects.toThrow(/aborted due to timeout/);
    await expect.poll(() => closed, { timeout: 2_000 }).toBe(true);
    // the client's end of the cut body closes a moment after the server's: its timer gone before the next test counts
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('leaves no timer behind: not after an answer, nor when the request cannot be made', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const { url } = await serve((_request, response) => response.writeHead(204).end());
    const before = timers();
    expect((await httpSend('POST', url, { body: 'x', timeoutMs: 60_000 })).status).toBe(204);
    expect(timers()).toBe(before);
    await expect(httpSend('POST', url, { headers: { 'x-bad': 'a\nb' }, timeoutMs: 60_000 })).rejects.toThrow(/Invalid character/);
    expect(timers()).toBe(before);
  });

  it('fails with the reason: a timeout, a refused connection, a scheme it does not speak', async () => {
    const { url } = await serve(() => undefined);
    await expect(httpSend('POST', url, { body: 'x', timeoutMs: 100 })).rejects.toThrow(/aborted due to timeout/);
    const closed = await serve(() => undefined);
    const port = new URL(closed.url).port;
    (servers.pop() as Server).close();
    await expect(httpSend('GET', closed.url, { timeoutMs: 1_000 })).rejects.toThrow(`connect ECONNREFUSED 127.0.0.1:${port}`);
    await expect(httpSend('POST', 'ftp://127.0.0.1/x', { timeoutMs: 1_000 })).rejects.toThrow(
      'unsupported protocol ftp: (http: or https:)',
    );
  });
});
