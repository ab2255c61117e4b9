import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AccountFailure, AccountService } from '../../accounts/account-service.js';
import { MIN_PASSWORD_LENGTH } from '../../accounts/passwords.js';
import { roleSchema } from '../../accounts/roles.js';
import { userNameSchema } from '../../accounts/user-name.js';
import type { ErrorCode } from '../../errors.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';

const password = z.string().min(MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`).max(1_024);

const user = z.object({
  name: z.string(),
  role: roleSchema,
  disabled: z.boolean(),
  source: z.enum(['config', 'store']).describe('config: api.users of the config file (changed there only); store: created over the API'),
  createdAt: z.string().nullable(),
});
const EXAMPLE_USER = { name: '王丽', role: 'operator', disabled: false, source: 'store', createdAt: '2026-11-22T08:00:00.000Z' } as const;

const token = z.object({
  id: z.string(),
  user: z.string(),
  label: z.string(),
  role: roleSchema.describe('the role it acts with (never more than its user’s)'),
  prefix: z.string().describe('the token’s first characters, to tell tokens apart'),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
const EXAMPLE_TOKEN = {
  id: 'tok_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
  user: '王丽',
  label: 'duty-desk script',
  role: 'operator',
  prefix: 'gwu_3kPq9Z',
  createdAt: '2026-11-22T08:00:00.000Z',
  lastUsedAt: null,
} as const;

const nameParams = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .meta({ examples: ['王丽'] }),
});
const idParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .meta({ examples: [EXAMPLE_TOKEN.id] }),
});

const FAILURES: Readonly<Record<AccountFailure, ErrorCode>> = {
  user_exists: 'user_exists',
  user_not_found: 'user_not_found',
  user_in_config: 'user_in_config',
  password_too_short: 'validation_failed',
  wrong_password: 'login_failed',
  token_not_found: 'token_not_found',
};
const fail = (reply: FastifyReply, failure: AccountFailure, what: string): FastifyReply =>
  sendError(reply, FAILURES[failure], `${what}: ${failure.replace(/_/g, ' ')}`);

/**
 * Users (admin): created with a role and a password, changed, disabled, removed; users of the config file are
 * listed but changed only there. Personal API tokens (any user, for machines): created for oneself, shown once,
 * listed and revoked; an admin sees and revokes everyone's.
 */
export function registerUserRoutes(app: FastifyInstance, deps: { accounts: AccountService; audit: AuditRecorder }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/users',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Every user with role and source (config file or store)',
        tags: ['users'],
        response: {
          200: z.object({ users: z.array(user) }).meta({ description: 'the users', examples: [{ users: [EXAMPLE_USER] }] }),
          ...errorResponses(AUTH_ERRORS),
        },
      },
    },
    async () => ({ users: deps.accounts.users() }),
  );

  api.post(
    '/api/users',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Create a user with a role and an initial password',
        tags: ['users'],
        body: z
          .object({ name: userNameSchema, role: roleSchema, password })
          .meta({ examples: [{ name: '王丽', role: 'operator', password: 'correct horse battery staple' }] }),
        response: {
          201: z.object({ user }).meta({ description: 'created', examples: [{ user: EXAMPLE_USER }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'user_exists', 'payload_too_large', 'unsupported_media_type']),
        },
      },
    },
    async (request, reply) => {
      const created = await deps.accounts.createUser(request.body);
      deps.audit(request, {
        action: 'user.create',
        target: request.body.name,
        outcome: created.ok ? 'ok' : FAILURES[created.error],
        detail: { role: request.body.role },
      });
      if (!created.ok) return fail(reply, created.error, `cannot create user ${request.body.name}`);
      return reply.code(201).send({ user: created.value });
    },
  );

  api.patch(
    '/api/users/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Change a user’s role or password, or disable them (a new password or disabling ends their sessions)',
        tags: ['users'],
        params: nameParams,
        body: z
          .object({ role: roleSchema.optional(), password: password.optional(), disabled: z.boolean().optional() })
          .meta({ examples: [{ role: 'dispatcher' }, { disabled: true }] }),
        response: {
          200: z.object({ user }).meta({ description: 'the user after the change', examples: [{ user: EXAMPLE_USER }] }),
          ...errorResponses([
            ...AUTH_ERRORS,
            'validation_failed',
            'user_not_found',
            'user_in_config',
            'payload_too_large',
            'unsupported_media_type',
          ]),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const updated = await deps.accounts.updateUser(name, request.body);
      const { password: newPassword, ...change } = request.body;
      deps.audit(request, {
        action: 'user.update',
        target: name,
        outcome: updated.ok ? 'ok' : FAILURES[updated.error],
        detail: { ...change, ...(newPassword === undefined ? {} : { password: 'changed' }) },
      });
      if (!updated.ok) return fail(reply, updated.error, `cannot change user ${name}`);
      return { user: updated.value };
    },
  );

  api.delete(
    '/api/users/:name',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Remove a user with their sessions and tokens (the audit log keeps their name)',
        tags: ['users'],
        params: nameParams,
        response: {
          200: z.object({ deleted: z.string() }).meta({ description: 'removed', examples: [{ deleted: '王丽' }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'user_not_found', 'user_in_config']),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const deleted = deps.accounts.deleteUser(name);
      deps.audit(request, { action: 'user.delete', target: name, outcome: deleted.ok ? 'ok' : FAILURES[deleted.error] });
      if (!deleted.ok) return fail(reply, deleted.error, `cannot remove user ${name}`);
      return { deleted: name };
    },
  );

  api.get(
    '/api/tokens',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Personal API tokens: your own (an admin: everyone’s); never the tokens themselves',
        tags: ['users'],
        response: {
          200: z.object({ tokens: z.array(token) }).meta({ description: 'the tokens', examples: [{ tokens: [EXAMPLE_TOKEN] }] }),
          ...errorResponses(AUTH_ERRORS),
        },
      },
    },
    async (request) => {
      const caller = request.caller;
      if (caller?.role === 'admin') return { tokens: deps.accounts.tokens() };
      return { tokens: caller?.kind === 'user' ? deps.accounts.tokens(caller.name) : [] };
    },
  );

  api.post(
    '/api/tokens',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Create a personal API token for yourself (a named user); the token is in this answer only',
        tags: ['users'],
        body: z
          .object({
            label: z.string().trim().min(1).max(200).describe('what it is for'),
            role: roleSchema.optional().describe('at most the role you act with (the default)'),
          })
          .meta({ examples: [{ label: 'duty-desk script', role: 'operator' }] }),
        response: {
          201: z
            .object({ token: z.string().describe('send as Authorization: Bearer <token>; not shown again'), info: token })
            .meta({ description: 'created', examples: [{ token: 'gwu_3kPq9Z…', info: EXAMPLE_TOKEN }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'payload_too_large', 'unsupported_media_type']),
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      if (caller?.kind !== 'user') return sendError(reply, 'forbidden', 'personal tokens belong to named users: log in as one');
      const created = deps.accounts.createToken(caller.name, request.body, caller.role);
      if (!created.ok) return fail(reply, created.error, 'cannot create a token');
      const { info } = created.value;
      deps.audit(request, { action: 'token.create', target: info.id, detail: { label: info.label, role: info.role } });
      return reply.code(201).send(created.value);
    },
  );

  api.delete(
    '/api/tokens/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Revoke a personal token: your own (an admin: anyone’s)',
        tags: ['users'],
        params: idParams,
        response: {
          200: z.object({ revoked: z.string() }).meta({ description: 'revoked', examples: [{ revoked: EXAMPLE_TOKEN.id }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'token_not_found']),
        },
      },
    },
    async (request, reply) => {
      const caller = request.caller;
      const { id } = request.params;
      if (caller?.role !== 'admin' && caller?.kind !== 'user') return sendError(reply, 'token_not_found', `no token ${id} of yours`);
      const revoked = deps.accounts.revokeToken(id, caller.role === 'admin' ? undefined : caller.name);
      deps.audit(request, { action: 'token.revoke', target: id, outcome: revoked.ok ? 'ok' : 'token_not_found' });
      if (!revoked.ok) return fail(reply, revoked.error, `cannot revoke token ${id}`);
      return { revoked: id };
    },
  );
}
