import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { formatPath } from '../config/problems.js';

/** One problem of a request part: `limit` and what is wrong with it (the `details` of a 400 `validation_failed`). */
export interface RequestProblem {
  path: string;
  message: string;
}

/** A request part that does not match its route's zod schema; the error handler answers 400 `validation_failed`. */
export class RequestValidationError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_VALIDATION';
  readonly problems: RequestProblem[];

  constructor(problems: RequestProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.name = 'RequestValidationError';
    this.problems = problems;
  }
}

/**
 * Fastify's validator for the routes' zod schemas (querystring, params, body): the parsed value replaces the
 * request part (defaults filled in, numbers coerced, unknown keys dropped); a failure lists every zod issue with
 * its path. A POST without a body is read as `{}`, so a missing field is named rather than the body.
 * (fastify-type-provider-zod's own validatorCompiler flattens paths to JSON pointers; this keeps zod's.)
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const parsed = schema.safeParse(httpPart === 'body' && data === null ? {} : data);
    if (parsed.success) return { value: parsed.data };
    const problems = parsed.error.issues.map((issue) => ({ path: formatPath(issue.path) || '(root)', message: issue.message }));
    return { error: new RequestValidationError(problems) };
  };

/**
 * What routes with zod schemas need of their app: requests validated with zod (zodValidatorCompiler), responses
 * documented but not filtered — serialised as they are (test/openapi.test.ts checks real answers against them).
 */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}
