import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Inhibition, inhibitsSchema, SEVERITIES } from '../../../../rules/src/index.js';
import type { AlarmService } from '../../alarms/alarm-service.js';
import { AUTH_ERRORS, errorResponses } from '../api-error.js';

const inhibitionView = z
  .object({
    inhibitors: z
      .array(
        z.object({
          key: z.string(),
          site: z.string(),
          device: z.string(),
          rule: z.string(),
          inhibits: inhibitsSchema,
          metric: z.string().nullable().optional().describe('the metric its verdict names (for sameMetric)'),
          since: z.string().describe('ISO 8601'),
        }),
      )
      .describe('rules whose condition holds and inhibits what it explains'),
    held: z
      .array(
        z.object({
          key: z.string(),
          inhibitedBy: z.string(),
          status: z.enum(['true', 'false']),
          severity: z.enum(SEVERITIES).nullable(),
        }),
      )
      .describe('alarm keys whose condition waits for its inhibitor to end (then the alarm takes it), by key'),
    recent: z
      .array(
        z.object({
          at: z.string(),
          key: z.string(),
          site: z.string(),
          device: z.string(),
          profile: z.string(),
          rule: z.string(),
          status: z.enum(['true', 'false']),
          severity: z.enum(SEVERITIES).nullable(),
          message: z.string().nullable(),
          inhibitedBy: z.string(),
        }),
      )
      .describe('inhibited verdict changes, newest first (the last 1000)'),
  })
  .meta({
    description: 'inhibition: what holds, what it holds, and what it held',
    examples: [
      {
        inhibitors: [
          {
            key: 'site-a/dc-01/device_silent',
            site: 'site-a',
            device: 'dc-01',
            rule: 'device_silent',
            inhibits: { scope: 'device' },
            since: '2026-11-22T08:00:00.000Z',
          },
        ],
        held: [{ key: 'site-a/dc-01/hopper_temp_high', inhibitedBy: 'site-a/dc-01/device_silent', status: 'true', severity: 'orange' }],
        recent: [],
      },
    ],
  });

/**
 * What inhibition holds now and held lately (rules/README.md, Inhibition). `elsewhere`: in a cluster, what the sites
 * other nodes judge hold, as their owners last wrote it (the recent inhibited changes are this node's own).
 */
export function registerInhibitionRoutes(
  app: FastifyInstance,
  deps: { alarms: AlarmService; elsewhere?: (() => Pick<Inhibition, 'inhibitors' | 'held'>) | undefined },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/inhibitions',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Inhibition: active inhibitors, the alarm conditions they hold, and recent inhibited changes',
        tags: ['alarms'],
        response: { 200: inhibitionView, ...errorResponses([...AUTH_ERRORS]) },
      },
    },
    async () => {
      const inhibition = deps.alarms.book.inhibition;
      const elsewhere = deps.elsewhere?.();
      return {
        inhibitors: [...inhibition.inhibitors(), ...(elsewhere?.inhibitors() ?? [])].map((i) => ({
          key: i.key,
          site: i.site,
          device: i.device,
          rule: i.rule,
          inhibits: i.inhibits,
          metric: i.metric ?? null,
          since: new Date(i.since).toISOString(),
        })),
        // by key: the order of one instant's changes is not the user's business
        held: [...inhibition.held(), ...(elsewhere?.held() ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
        recent: inhibition.recent().map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
      };
    },
  );
}
