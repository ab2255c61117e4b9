import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';

/** The API's error body: `{ error: { code, message, details? } }`, status from the catalogue. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: unknown): FastifyReply {
  return reply.code(ERROR_CATALOGUE[code].status).send({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

const errorCodes = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];

/** The error body as the OpenAPI document shows it (docs/errors.md lists the codes). */
export const apiErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string(),
      details: z.unknown().optional().describe('validation_failed: every problem with its path; rules_invalid: every problem of the files'),
    }),
  })
  .meta({
    id: 'ApiError',
    examples: [
      {
        error: {
          code: 'validation_failed',
          message: 'state: Invalid option: expected one of "open"|"active"|"cleared"|"all"|"resolved"',
          details: [{ path: 'state', message: 'Invalid option: expected one of "open"|"active"|"cleared"|"all"|"resolved"' }],
        },
      },
    ],
  });

/** The codes every route that needs a token can answer with. */
export const AUTH_ERRORS: readonly ErrorCode[] = ['unauthorized', 'forbidden', 'rate_limited'];

/** Response schemas for the error codes a route can answer with, one per HTTP status, described by their codes. */
export function errorResponses(codes: readonly ErrorCode[]): Record<number, typeof apiErrorSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, sameStatus]) => [status, apiErrorSchema.describe(sameStatus.map((code) => `\`${code}\``).join(', '))]),
  );
}
