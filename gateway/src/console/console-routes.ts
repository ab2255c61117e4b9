import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');

/** The console's files: a fixed list, so no request path ever reaches the file system. */
const ASSETS = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'gateway-client.js': 'text/javascript; charset=utf-8',
  'alarm-stream.js': 'text/javascript; charset=utf-8',
  'shared-feed.js': 'text/javascript; charset=utf-8',
  'tab-election.js': 'text/javascript; charset=utf-8',
  'views.js': 'text/javascript; charset=utf-8',
  'i18n.js': 'text/javascript; charset=utf-8',
  'action-forms.js': 'text/javascript; charset=utf-8',
  'alarm-list.js': 'text/javascript; charset=utf-8',
  'alarm-detail.js': 'text/javascript; charset=utf-8',
  'alarm-sound.js': 'text/javascript; charset=utf-8',
  'keep-focus.js': 'text/javascript; charset=utf-8',
  'csv-rows.js': 'text/javascript; charset=utf-8',
  'device-views.js': 'text/javascript; charset=utf-8',
  'wall-view.js': 'text/javascript; charset=utf-8',
  'trend-chart.js': 'text/javascript; charset=utf-8',
  'maintenance-view.js': 'text/javascript; charset=utf-8',
  'maintenance-form.js': 'text/javascript; charset=utf-8',
} as const;

type AssetName = keyof typeof ASSETS;

/**
 * The page allows only its own scripts, styles and connections: data shown on it can never run as code
 * even if a rendering bug slipped through (the scripts themselves set text, never HTML).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
} as const;

const isAsset = (name: string): name is AssetName => Object.hasOwn(ASSETS, name);

/**
 * The duty-officer console: `GET /` is the page, `GET /console/<file>` its scripts and styles. Public
 * routes (no role): the page asks for a token and the API it calls checks it.
 */
export function registerConsoleRoutes(app: FastifyInstance): void {
  // Read once at start-up: a missing file fails the gateway's start, not a duty officer's night.
  const files = new Map<AssetName, string>();
  for (const name of Object.keys(ASSETS) as AssetName[]) files.set(name, readFileSync(join(PUBLIC_DIR, name), 'utf8'));

  const send = (name: AssetName) => ({ type: ASSETS[name], body: files.get(name)! });

  const api = app.withTypeProvider<ZodTypeProvider>();
  const page = (description: string, type: string) => ({ 200: { description, content: { [type]: { schema: z.string() } } } });

  const pageSchema = {
    summary: 'The duty-officer console (asks for a user name and password, or a token)',
    tags: ['console'],
    response: page('the page', 'text/html'),
  };
  api.get('/', { config: { public: true }, schema: pageSchema }, async (_request, reply) => {
    const asset = send('index.html');
    return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body);
  });

  const assetSchema = {
    summary: "The console's scripts and styles",
    tags: ['console'],
    params: z.object({ file: z.string().meta({ examples: ['console.js'] }) }),
    response: page('the file; 404 not_found for any other name', 'text/javascript'),
  };
  api.get('/console/:file', { config: { public: true }, schema: assetSchema }, async (request, reply) => {
    const { file } = request.params;
    if (!isAsset(file) || file === 'index.html') return reply.callNotFound();
    const asset = send(file);
    return reply.headers(SECURITY_HEADERS).type(asset.type).send(asset.body);
  });
}
