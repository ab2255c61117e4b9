import type { FastifyReply } from 'fastify';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';

/** The API's error body: `{ error: { code, message, details? } }`, status from the catalogue. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string, details?: unknown): FastifyReply {
  return reply.code(ERROR_CATALOGUE[code].status).send({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}
