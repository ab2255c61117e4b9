import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountService } from '../../accounts/account-service.js';
import { MIN_PASSWORD_LENGTH } from '../../accounts/passwords.js';
import { roleSchema } from '../../accounts/roles.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';
import { type AuthFailureLimit, type AuthFailureLimiter, SESSION_COOKIE } from '../auth.js';

export interface SessionRouteDeps {
  accounts: AccountService;
  audit: AuditRecorder;
  /** Failed logins per source address (shared with failed bearer tokens: `api.authFailures`). */
  addressLimiter: AuthFailureLimiter;
  /** Failed logins per user name (`api.loginFailuresPerUser` within `api.authFailures.window`). */
  userLimiter: AuthFailureLimiter;
  secureCookie: boolean;
  /** `api.sessions.ttl` (ms): the cookie's Max-Age. */
  sessionTtl: number;
  metrics: GatewayMetrics;
}

const loginBody = z
  .object({
    name: z.string().min(1).max(64).describe('the user name'),
    password: z.string().min(1).max(1_024),
  })
  .meta({ examples: [{ name: '王丽', password: 'correct horse battery staple' }] });

const who = z.object({
  name: z.string(),
  role: roleSchema,
  kind: z.enum(['user', 'token']).describe('user: a named user; token: a shared token of api.tokens'),
});
const EXAMPLE_WHO = { name: '王丽', role: 'operator', kind: 'user' } as const;

const session = z
  .object({ user: who, expiresAt: z.string().describe('ISO 8601: the latest the session ends (earlier when idle)') })
  .meta({ description: 'logged in; the session cookie is set', examples: [{ user: EXAMPLE_WHO, expiresAt: '2026-11-22T20:00:00.000Z' }] });

/**
 * Console sessions: `POST /auth/login` checks a user's password and sets the session cookie (HttpOnly,
 * SameSite=Strict, Path=/, Max-Age of `api.sessions.ttl`); `POST /auth/logout` ends it; `GET /auth/session` says who
 * the caller is. Outside /api: the login is the one route that takes neither token nor session.
 */
export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const cookie = (value: string, maxAgeSeconds: number): string =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${deps.secureCookie ? '; Secure' : ''}`;

  const tooMany = (reply: FastifyReply, limit: AuthFailureLimit): FastifyReply => {
    deps.metrics.httpAuthFailures.inc({ reason: 'rate_limited' });
    reply.header('retry-after', String(Math.max(1, limit.ttlInSeconds ?? 1)));
    return sendError(reply, 'rate_limited', 'too many failed logins; try again later');
  };

  api.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        summary: 'Log in with a user name and password: sets the console’s session cookie',
        tags: ['users'],
        body: loginBody,
        response: {
          200: session,
          ...errorResponses(['validation_failed', 'login_failed', 'rate_limited', 'payload_too_large', 'unsupported_media_type']),
        },
      },
    },
    async (request, reply) => {
      const { name, password } = request.body;
      for (const limiter of [deps.addressLimiter, deps.userLimiter]) {
        const before = await limiter(request, { increment: false });
        if (before.isExceeded) return tooMany(reply, before);
      }
      const result = await deps.accounts.login(name, password);
      if (!result.ok) {
        deps.metrics.httpAuthFailures.inc({ reason: 'bad_password' });
        deps.audit(request, { action: 'session.login_failed', actor: name, target: name, outcome: 'login_failed' });
        const [byAddress, byUser] = [await deps.addressLimiter(request), await deps.userLimiter(request)];
        const exceeded = byAddress.isExceeded ? byAddress : byUser.isExceeded ? byUser : null;
        if (exceeded) return tooMany(reply, exceeded);
        return sendError(reply, 'login_failed', 'wrong user name or password');
      }
      request.caller = result.caller;
      deps.audit(request, { action: 'session.login', target: name });
      reply.header('set-cookie', cookie(result.sessionId, Math.ceil(deps.sessionTtl / 1_000)));
      const { sessionId: _, ...caller } = result.caller;
      return { user: caller, expiresAt: new Date(result.expiresAt).toISOString() };
    },
  );

  api.post(
    '/auth/logout',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'End this session (the cookie is cleared); with a token there is no session to end',
        tags: ['users'],
        response: {
          200: z
            .object({ loggedOut: z.boolean().describe('false: the request came with a token, not a session') })
            .meta({ description: 'the session has ended', examples: [{ loggedOut: true }] }),
          ...errorResponses(AUTH_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      if (!caller?.sessionId) return { loggedOut: false };
      deps.accounts.logout(caller.sessionId);
      deps.audit(request, { action: 'session.logout', target: caller.name });
      reply.header('set-cookie', cookie('', 0));
      return { loggedOut: true };
    },
  );

  api.post(
    '/auth/password',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Change your own password (a user created over the API); every session of yours ends: log in again',
        tags: ['users'],
        body: z
          .object({
            currentPassword: z.string().min(1).max(1_024),
            newPassword: z.string().min(MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`).max(1_024),
          })
          .meta({ examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a new and longer passphrase' }] }),
        response: {
          200: z.object({ changed: z.literal(true) }).meta({ description: 'changed; log in again', examples: [{ changed: true }] }),
          ...errorResponses([
            ...AUTH_ERRORS,
            'validation_failed',
            'login_failed',
            'user_in_config',
            'user_not_found',
            'payload_too_large',
            'unsupported_media_type',
          ]),
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      if (caller?.kind !== 'user') return sendError(reply, 'forbidden', 'a shared token has no password: log in as a user');
      // A personal token may be a viewer's for a script: with it, a new password would be a way into the whole account.
      if (!caller.sessionId)
        return sendError(reply, 'forbidden', 'a personal token cannot change its user’s password: log in to the console');
      for (const limiter of [deps.addressLimiter, deps.userLimiter]) {
        const before = await limiter(request, { increment: false });
        if (before.isExceeded) return tooMany(reply, before);
      }
      const { currentPassword, newPassword } = request.body;
      const changed = await deps.accounts.changePassword(caller.name, currentPassword, newPassword);
      const code = changed.ok ? 'ok' : changed.error === 'wrong_password' ? 'login_failed' : changed.error;
      deps.audit(request, { action: 'user.update', target: caller.name, outcome: code, detail: { password: 'changed by the user' } });
      if (changed.ok) {
        reply.header('set-cookie', cookie('', 0));
        return { changed: true as const };
      }
      if (changed.error === 'wrong_password') {
        deps.metrics.httpAuthFailures.inc({ reason: 'bad_password' });
        // a wrong current password is a failed login: counted per address and per name, as the login's are
        const [byAddress, byUser] = [await deps.addressLimiter(request), await deps.userLimiter(request)];
        const exceeded = byAddress.isExceeded ? byAddress : byUser.isExceeded ? byUser : null;
        if (exceeded) return tooMany(reply, exceeded);
        return sendError(reply, 'login_failed', 'the current password is wrong');
      }
      const refused = { password_too_short: 'validation_failed', user_in_config: 'user_in_config' } as const;
      const error =
        changed.error === 'password_too_short' || changed.error === 'user_in_config' ? refused[changed.error] : 'user_not_found';
      return sendError(reply, error, `cannot change the password of ${caller.name}: ${changed.error.replace(/_/g, ' ')}`);
    },
  );

  api.get(
    '/auth/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Who the caller is: the user of the session or token, with the role',
        tags: ['users'],
        response: {
          200: z.object({ user: who }).meta({ description: 'the caller', examples: [{ user: EXAMPLE_WHO }] }),
          ...errorResponses(AUTH_ERRORS),
        },
      },
    },
    async (request) => {
      const { name, role, kind } = request.caller ?? { name: '', role: 'viewer' as const, kind: 'token' as const };
      return { user: { name, role, kind } };
    },
  );
}
