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
