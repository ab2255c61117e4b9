import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken, Role } from '../config/config-schema.js';
import { hmacKey } from '../devices/secret-hash.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { sendError } from './api-error.js';

const RANK: Readonly<Record<Role, number>> = { viewer: 1, operator: 2, admin: 3 };

export interface Caller {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
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
  const caller = { name: token.name, role: token.role };
  if (token.tokenHash === undefined) return { salt: null, expected: sha256(token.token ?? ''), caller };
  const [, salt = '', hash = ''] = token.tokenHash.split('$');
  return { salt: Buffer.from(salt, 'base64'), expected: Buffer.from(hash, 'base64'), caller };
}

/** `Authorization: Bearer <token>`, the scheme case-insensitive (RFC 7235 §2.1); null for none or another scheme. */
export function bearerToken(header: string | undefined): string | null {
  const match = header === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1] ?? null;
}

export interface AuthenticatorDeps {
  tokens: readonly ApiToken[];
  limiter: AuthFailureLimiter;
  metrics: GatewayMetrics;
}

/**
 * Bearer tokens with roles: viewer reads, operator acts on alarms, admin administers. A presented token is
 * compared with every known one in constant time, without stopping at a match. A source address that
 * presents too many unknown tokens is answered 429 (`rate_limited`, with Retry-After) until its window
 * passes, whatever token it sends, so guessing cannot go faster than the limit.
 */
export function createAuthenticator(deps: AuthenticatorDeps) {
  const known = deps.tokens.map(knownToken);

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

  return async function authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { role: needed, queryToken: takesQueryToken } = request.routeOptions.config;
    if (!needed) return;
    const presented = bearerToken(request.headers.authorization) ?? (takesQueryToken ? queryToken(request) : null);
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
    const caller = identify(presented);
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
    if (RANK[caller.role] < RANK[needed]) {
      await sendError(reply, 'forbidden', `this needs the ${needed} role; your token has ${caller.role}`);
      return;
    }
    request.caller = caller;
  };
}
