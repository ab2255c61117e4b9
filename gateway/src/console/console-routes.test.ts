import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useZodSchemas } from '../http/request-validation.js';
import { registerConsoleRoutes } from './console-routes.js';

describe('console routes', () => {
  const app = Fastify();
  beforeAll(async () => {
    useZodSchemas(app);
    registerConsoleRoutes(app);
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves the page at / with a policy that runs only its own scripts', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).toContain('<script type="module" src="/console/console.js"></script>');
  });

  it('serves every file the page loads, with its type, and every module those import in turn', async () => {
    const page = (await app.inject({ method: 'GET', url: '/' })).body;
    const referenced = [...page.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!);
    expect(referenced).toEqual(['/console/console.css', '/console/console.js']);
    // a module imported only by another module (not by console.js) and missing from the list fails the page as surely
    const seen = new Set<string>();
    const waiting = [...referenced];
    while (waiting.length > 0) {
      const url = waiting.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toMatch(url.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      for (const m of response.body.matchAll(/from '\.\/([^']+)'/g)) waiting.push(`/console/${m[1]}`);
    }
    expect(seen.size).toBeGreaterThan(referenced.length);
  });

  it('serves nothing else from the folder', async () => {
    for (const url of ['/console/index.html', '/console/..%2Fconsole-routes.ts', '/console/missing.js', '/console/']) {
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
    }
  });
});
