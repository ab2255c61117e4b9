import type { RouteOptions } from 'fastify';
import type { Role } from '../config/config-schema.js';

/**
 * The only routes reachable without a token, on purpose (`config: { public: true }`). Every other route
 * names the least role it needs in `config.role`; a route with neither stops the gateway at start-up, so a
 * new route cannot be public by omission. `GET /metrics` is public while `api.metricsPublic` is on;
 * `GET /openapi.json` and the docs page describe the API and hold no data. Nothing under /api is public.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /',
  'GET /console/:file',
  'GET /openapi.json',
  // The console's login: a user name and password, no token yet (failed attempts are throttled, see session-routes.ts).
  'POST /auth/login',
]);

/** Where the API documentation page (Swagger UI) is served. */
export const DOCS_PREFIX = '/docs';

/**
 * The documentation page's routes, which @fastify/swagger-ui registers under DOCS_PREFIX without a config of
 * their own: public by this exact list, and only when registered by a plugin under that prefix. The page shows
 * what `GET /openapi.json` does; neither holds data.
 */
export const DOCS_PAGE_ROUTES: ReadonlySet<string> = new Set(
  ['', '/', '/static/index.html', '/static/swagger-initializer.js', '/json', '/yaml', '/static/*'].map(
    (path) => `GET ${DOCS_PREFIX}${path}`,
  ),
);

/** One method and path of the running server, with the least role it needs (null: public). */
export interface RouteAccess {
  method: string;
  url: string;
  role: Role | null;
}

/** HEAD routes are fastify's automatic twins of GET routes and share their access. */
const publicKey = (method: string, url: string): string => `${method === 'HEAD' ? 'GET' : method} ${url}`;

/** An `onRoute` hook that refuses routes without a role (unless listed public) and records every route's access. */
export function createRouteAccessBook(): { onRoute(route: RouteOptions & { prefix?: string }): void; routes(): RouteAccess[] } {
  const routes: RouteAccess[] = [];
  return {
    onRoute(route) {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const role = route.config?.role ?? null;
      for (const method of methods) {
        const key = publicKey(method, route.url);
        const docsPage = route.prefix === DOCS_PREFIX && DOCS_PAGE_ROUTES.has(key);
        if (role === null && !((route.config?.public === true && PUBLIC_ROUTES.has(key)) || docsPage)) {
          throw new Error(`route ${method} ${route.url} names no role: give it config.role, or list it in PUBLIC_ROUTES`);
        }
        routes.push({ method, url: route.url, role });
      }
    },
    routes: () => [...routes],
  };
}
