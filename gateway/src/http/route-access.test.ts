import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createRouteAccessBook } from './route-access.js';

const server = () => {
  const app = Fastify();
  const access = createRouteAccessBook();
  app.addHook('onRoute', access.onRoute);
  return { app, access };
};

describe('route access book', () => {
  it('refuses a route that names no role and is not listed public, so it cannot be public by omission', () => {
    const { app } = server();
    expect(() => app.get('/api/new-thing', async () => ({}))).toThrow('route GET /api/new-thing names no role');
  });

  it('refuses public: true on a route that is not in PUBLIC_ROUTES', () => {
    const { app } = server();
    expect(() => app.get('/api/quarantine', { config: { public: true } }, async () => ({}))).toThrow('names no role');
  });

  it('takes a public route only with public: true and its own method (HEAD as GET)', () => {
    const { app } = server();
    expect(() => app.get('/readyz', async () => ({}))).toThrow('route GET /readyz names no role');
    expect(() => app.post('/healthz', { config: { public: true } }, async () => ({}))).toThrow('route POST /healthz names no role');
    expect(() => app.post('/auth/login', { config: { public: true } }, async () => ({}))).not.toThrow();
  });

  it('takes the docs page routes as public only when the docs plugin registers them under /docs', async () => {
    const { app, access } = server();
    expect(() => app.get('/docs/json', async () => ({}))).toThrow('route GET /docs/json names no role');
    await app.register(
      async (docs) => {
        docs.get('/json', async () => ({}));
      },
      { prefix: '/docs' },
    );
    await app.register(
      async (docs) => {
        expect(() => docs.get('/export', async () => ({}))).toThrow('route GET /docs/export names no role');
      },
      { prefix: '/docs' },
    );
    await app.ready();
    expect(access.routes()).toContainEqual({ method: 'GET', url: '/docs/json', role: null });
  });

  it('records every method and path with its role, public routes as null', async () => {
    const { app, access } = server();
    app.get('/healthz', { config: { public: true } }, async () => ({}));
    app.post('/api/rules/reload', { config: { role: 'admin' } }, async () => ({}));
    await app.ready();
    expect(access.routes()).toEqual([
      { method: 'GET', url: '/healthz', role: null },
      { method: 'HEAD', url: '/healthz', role: null },
      { method: 'POST', url: '/api/rules/reload', role: 'admin' },
    ]);
  });
});
