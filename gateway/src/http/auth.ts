import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Caller, USER_TOKEN_PREFIX } from '../accounts/account-service.js';
import { type Role, roleAtLeast } from '../accounts/roles.js';
import type { ApiToken } from '../config/config-schema.js';
import { hmacKey } from '../devices/secret-hash.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { sendError } from './api-error.js';
import type { AuditRecorder } from './audit-request.js';
import { createRepeatThrottle } from './repeat-throttle.js';

export type { Caller };

/** The console's session cookie (HttpOnly, SameSite=Strict; see session-routes.ts). */
export const SESSION_COOKIE = 'gw_session';

/** How a session cookie or a personal token (`gwu_…`) is known: the account service. */
export interface CallerLookup {
  sessionCaller(sessionId: string, touch?: boolean): Caller | null;
  tokenCaller(token: string, touch?: boolean): Caller | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    /** Whether the credential that admitted the request still would (a live feed asks again while it stays open). */
    callerStillAdmitted: (() => boolean) | null;
  }
  interface FastifyContextConfig {
    /** The least role a route needs. A route without one must say `public: true` (see route-access.ts). */
    role?: Role;
    /** Reachable without a token, on purpose. */
    public?: boolean;
    /** Also takes the token as `?access_token=`: only for clients that cannot set a header (EventSource). */
    queryToken?: boolean;
  }
}

/** What the failed-authentication limiter says about a source address (`@fastify/rate-limit`'s createRateLimit). */
export interface AuthFailureLimit {
  isExceeded?: boolean;
  ttlInSeconds?: number;
}
export type AuthFailureLimiter = (request: FastifyRequest, options?: { increment?: boolean }) => Promise<AuthFailureLimit>;

interface KnownToken {
  /** null: compared as SHA-256 of the plain token; otherwise the salt of a `sha256$salt$hash` tokenHash. */
  salt: Buffer | null;
  expected: Buffer;
  caller: Caller;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

function knownToken(token: ApiToken): KnownToken {
  const caller: Caller = { name: token.name, role: token.role, kind: 'token' };
  if (token.tokenHash === undefined) return { salt: null, expected: sha256(token.token ?? ''), caller };
  const [, salt = '', hash = ''] = token.tokenHash.split('$');
  return { salt: Buffer.from(salt, 'base64'), expected: Buffer.from(hash, 'base64'), caller };
}

/** `Authorization: Bearer <token>`, the scheme case-insensitive (RFC 7235 §2.1); null for none or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  const match = header === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1] ?? null;
}

/** The value of one cookie of a `Cookie` header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim() || null;
  }
  return null;
}

/** An unsafe request from a page of another origin (a cookie rides along with it): refused even with SameSite. */
const crossOrigin = (request: FastifyRequest): boolean => {
  if (request.method === 'GET' || request.method === 'HEAD') return false;
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
};

export interface AuthenticatorDeps {
  tokens: readonly ApiToken[];
  accounts: CallerLookup;
  limiter: AuthFailureLimiter;
  metrics: GatewayMetrics;
  /** Where a known caller's refusal for their role is recorded (`access.forbidden`). */
  audit: AuditRecorder;
  /** The clock of the refusals' audit entries (one per caller and route a minute). */
  now?: () => number;
}

/** A refusal repeated by the same caller on the same route is written to the audit log at most this often. */
const FORBIDDEN_AUDIT_WINDOW_MS = 60_000;

/**
 * Who calls, and whether their role may: a bearer token (a personal `gwu_…` token of a named user, or a shared one
 * of `api.tokens`), else the console's session cookie. Roles: viewer reads, operator acts on alarms, dispatcher also
 * reads the audit log, admin administers. A presented token is
 * compared with every known one in constant time, without stopping at a match. A source address that
 * presents too many unknown tokens is answered 429 (`rate_limited`, with Retry-After) until its window
 * passes, whatever token it sends, so guessing cannot go faster than the limit.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const known = deps.tokens.map(knownToken);
  const forbiddenRepeats = createRepeatThrottle(FORBIDDEN_AUDIT_WINDOW_MS, deps.now);

  const identify = (presented: string): Caller | null => {
    const plain = sha256(presented);
    let found: Caller | null = null;
    for (const token of known) {
      const actual = token.salt === null ? plain : hmacKey(presented, token.salt);
      const equal = actual.length === token.expected.length && timingSafeEqual(actual, token.expected);
      if (equal && found === null) found = token.caller;
    }
    return found;
  };

  const queryToken = (request: FastifyRequest): string | null => {
    const query = request.query as Record<string, unknown> | null | undefined;
    if (!query || !Object.hasOwn(query, 'access_token')) return null;
    return typeof query.access_token === 'string' && query.access_token !== '' ? query.access_token : null;
  };

  const tooMany = (reply: FastifyReply, limit: AuthFailureLimit): FastifyReply => {
    deps.metrics.httpAuthFailures.inc({ reason: 'rate_limited' });
    reply.header('retry-after', String(Math.max(1, limit.ttlInSeconds ?? 1)));
    return sendError(reply, 'rate_limited', 'too many failed authentications from this address; try again later');
  };

  /** A known caller without the role: 403, and an audit entry saying who tried what. */
  const forbidden = async (request: FastifyRequest, reply: FastifyReply, caller: Caller, needed: Role, message: string): Promise<void> => {
    request.caller = caller;
    const params = request.params as Record<string, unknown> | null | undefined;
    // the alarm, shelf, webhook… (`:id`) or user (`:name`) the route names
    const named = params?.id ?? params?.name;
    const target = typeof named === 'string' ? named : null;
    const route = request.routeOptions.url ?? null;
    const repeats = forbiddenRepeats.admit(`${caller.kind}|${caller.name}|${request.method} ${route}|${target}`);
    if (repeats !== null)
      deps.audit(request, {
        action: 'access.forbidden',
        target,
        outcome: 'forbidden',
        // `repeats`: the same refusals since this caller's last entry for it, not written each (at most one a minute)
        detail: { method: request.method, route, needs: needed, role: caller.role, ...(repeats > 0 ? { repeats } : {}) },
      });
    await sendError(reply, 'forbidden', message);
  };

  return async function authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { role: needed, queryToken: takesQueryToken } = request.routeOptions.config;
    if (!needed) return;
    const presented = bearerToken(request.headers.authorization) ?? (takesQueryToken ? queryToken(request) : null);
    const sessionId = presented === null ? cookieValue(request.headers.cookie, SESSION_COOKIE) : null;
    if (sessionId !== null) {
      const caller = deps.accounts.sessionCaller(sessionId);
      if (!caller) {
        deps.metrics.httpAuthFailures.inc({ reason: 'bad_session' });
        await sendError(reply, 'unauthorized', 'the session has ended (logged out or expired); log in again');
        return;
      }
      if (crossOrigin(request)) {
        await sendError(reply, 'forbidden', 'a session cannot act from a page of another origin');
        return;
      }
      if (!roleAtLeast(caller.role, needed)) {
        await forbidden(request, reply, caller, needed, `this needs the ${needed} role; you have ${caller.role}`);
        return;
      }
      request.caller = caller;
      request.callerStillAdmitted = () => {
        const again = deps.accounts.sessionCaller(sessionId, false);
        return again !== null && roleAtLeast(again.role, needed);
      };
      return;
    }
    if (presented === null) {
      deps.metrics.httpAuthFailures.inc({ reason: 'missing_token' });
      const hint = queryToken(request) === null ? '' : '; ?access_token= is accepted only by GET /api/alarms/stream';
      reply.header('www-authenticate', 'Bearer');
      await sendError(reply, 'unauthorized', `a valid bearer token is required (Authorization: Bearer <token>)${hint}`);
      return;
    }
    const before = await deps.limiter(request, { increment: false });
    if (before.isExceeded) {
      await tooMany(reply, before);
      return;
    }
    const caller = deps.accounts.tokenCaller(presented) ?? identify(presented);
    if (!caller) {
      const after = await deps.limiter(request);
      if (after.isExceeded) {
        await tooMany(reply, after);
        return;
      }
      deps.metrics.httpAuthFailures.inc({ reason: 'bad_token' });
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      await sendError(reply, 'unauthorized', 'a valid bearer token is required (Authorization: Bearer <token>)');
      return;
    }
    if (!roleAtLeast(caller.role, needed)) {
      await forbidden(request, reply, caller, needed, `this needs the ${needed} role; your token has ${caller.role}`);
      return;
    }
    request.caller = caller;
    // a shared token of api.tokens cannot change while the gateway runs: asked again only for a personal one
    if (presented.startsWith(USER_TOKEN_PREFIX))
      request.callerStillAdmitted = () => {
        const again = deps.accounts.tokenCaller(presented, false);
        return again !== null && roleAtLeast(again.role, needed);
      };
  };
}
