import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { formatPath } from '../config/problems.js';
import { sendError } from './api-error.js';

/** Parses a request part with its zod schema, or answers 400 `validation_failed` listing each problem. */
export function parseOr400<T extends z.ZodType>(schema: T, input: unknown, reply: FastifyReply): z.infer<T> | null {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => ({ path: formatPath(issue.path) || '(root)', message: issue.message }));
  void sendError(reply, 'validation_failed', details.map((d) => `${d.path}: ${d.message}`).join('; '), details);
  return null;
}
