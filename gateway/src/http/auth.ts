import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiToken, Role } from '../config/config-schema.js';
import { sendError } from './api-error.js';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export interface Caller {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one are public. */
    role?: Role;
  }
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Bearer tokens with roles: viewer reads, operator acts on alarms, admin administers. */
export function createAuthenticator(tokens: readonly ApiToken[]) {
  const known = tokens.map((token) => ({ digest: digest(token.token), caller: { name: token.name, role: token.role } }));

  const identify = (presented: string | null): Caller | null => {
    if (!presented) return null;
    const candidate = digest(presented);
    for (const token of known) if (timingSafeEqual(token.digest, candidate)) return token.caller;
    return null;
  };

  const presentedToken = (request: FastifyRequest): string | null => {
    const header = request.headers.authorization;
    if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
    // EventSource cannot set headers: the live feed also takes ?access_token=.
    const query = request.query as Record<string, unknown> | undefined;
    return typeof query?.access_token === 'string' ? query.access_token : null;
  };

  return async function authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const needed = request.routeOptions.config.role;
    if (!needed) return;
    const caller = identify(presentedToken(request));
    if (!caller) {
      reply.header('www-authenticate', 'Bearer');
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
