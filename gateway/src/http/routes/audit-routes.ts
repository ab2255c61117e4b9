import { setImmediate } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditCsv } from '../../audit/audit-csv.js';
import { type AuditEntry, type AuditFilter, type AuditLog, auditActionSchema, auditEntrySchema } from '../../audit/audit-log.js';
import { AUTH_ERRORS, errorResponses } from '../api-error.js';

const time = z.iso.datetime({ offset: true });

const filters = {
  actor: z
    .string()
    .max(200)
    .optional()
    .meta({ examples: ['王丽'] })
    .describe('only this actor'),
  action: auditActionSchema.optional().meta({ examples: ['alarm.ack'] }),
  target: z
    .string()
    .max(200)
    .optional()
    .meta({ examples: ['alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T'] })
    .describe('only entries about this alarm, dead letter, subscriber, user or token'),
  from: time
    .optional()
    .meta({ examples: ['2026-11-22T00:00:00+08:00'] })
    .describe('ISO 8601, inclusive'),
  to: time
    .optional()
    .meta({ examples: ['2026-11-23T00:00:00+08:00'] })
    .describe('ISO 8601, exclusive'),
  before: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .meta({ examples: [120] })
    .describe('only entries older than this id: the nextBefore of the page before'),
};

const EXAMPLE_ENTRY = {
  id: 121,
  at: '2026-11-22T08:03:10.000Z',
  actor: '王丽',
  actorKind: 'user',
  action: 'alarm.ack',
  target: 'alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
  outcome: 'ok',
  note: '已到现场检查',
  by: null,
  address: '10.0.0.17',
  detail: null,
} as const satisfies z.input<typeof auditEntrySchema>;

const page = z
  .object({
    entries: z.array(auditEntrySchema).describe('newest first'),
    count: z.number().int(),
    nextBefore: z.number().int().nullable().describe('pass as `before` for the next (older) page; null: no more'),
  })
  .meta({ description: 'one page of the audit log, newest first', examples: [{ entries: [EXAMPLE_ENTRY], count: 1, nextBefore: null }] });

/** The audit log (dispatcher and admin): a page as JSON, or everything that matches as CSV for Excel. */
/** Rows one CSV export may hold (about 200 bytes each in memory); more: page with `before`. */
const MAX_CSV_ROWS = 500_000;
/** Entries read at a time for an export: the broker, the alarm book and the API share this thread. */
const CSV_CHUNK = 2_000;

/**
 * The entries of `filter` up to its limit, read a chunk at a time with the event loop let go between chunks (a year's
 * export read at once held every MQTT acknowledgement and alarm for seconds), and the `before` of the rest when more
 * match than the limit (null: that was all).
 */
async function readInChunks(audit: AuditLog, filter: AuditFilter): Promise<{ entries: AuditEntry[]; nextBefore: number | null }> {
  const entries: AuditEntry[] = [];
  let before = filter.before;
  for (;;) {
    const left = filter.limit - entries.length;
    // one more than is left: whether anything remains past the limit
    const chunk = audit.query({ ...filter, before, limit: Math.min(CSV_CHUNK, left + 1) });
    entries.push(...chunk.slice(0, left));
    if (chunk.length > left) return { entries, nextBefore: (entries.at(-1) as AuditEntry).id };
    if (chunk.length < Math.min(CSV_CHUNK, left + 1)) return { entries, nextBefore: null };
    before = (chunk.at(-1) as AuditEntry).id;
    await setImmediate();
  }
}

/** The query as the audit log takes it: times in ms since the epoch. */
const filterOf = (query: Omit<AuditFilter, 'from' | 'to'> & { from?: string | undefined; to?: string | undefined }): AuditFilter => ({
  ...query,
  from: query.from === undefined ? undefined : Date.parse(query.from),
  to: query.to === undefined ? undefined : Date.parse(query.to),
});

export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditLog }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/audit',
    {
      config: { role: 'dispatcher' },
      schema: {
        summary: 'The audit log: who did what, when and why; newest first, filtered, a page at a time',
        tags: ['audit'],
        querystring: z.object({
          ...filters,
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(1_000)
            .default(100)
            .meta({ examples: [50] }),
        }),
        response: { 200: page, ...errorResponses([...AUTH_ERRORS, 'validation_failed']) },
      },
    },
    async (request) => {
      const entries: AuditEntry[] = deps.audit.query(filterOf(request.query));
      const last = entries.at(-1);
      return { entries, count: entries.length, nextBefore: entries.length === request.query.limit && last ? last.id : null };
    },
  );

  api.get(
    '/api/audit.csv',
    {
      config: { role: 'dispatcher' },
      schema: {
        summary: 'The audit log as CSV (UTF-8 with BOM, for Excel), newest first, with the same filters',
        tags: ['audit'],
        querystring: z.object({
          ...filters,
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(MAX_CSV_ROWS)
            .default(100_000)
            .meta({ examples: [10_000] }),
        }),
        response: {
          200: {
            description:
              'the entries, a header row first; when more match than `limit`, the headers `X-Audit-Truncated: true` and `X-Audit-Next-Before` (pass it as `before` for the rest)',
            content: { 'text/csv': { schema: z.string() } },
          },
          ...errorResponses([...AUTH_ERRORS, 'validation_failed']),
        },
      },
    },
    async (request, reply) => {
      const { entries, nextBefore } = await readInChunks(deps.audit, filterOf(request.query));
      if (nextBefore !== null) reply.header('x-audit-truncated', 'true').header('x-audit-next-before', String(nextBefore));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit.csv"')
        .send(auditCsv(entries));
    },
  );
}
