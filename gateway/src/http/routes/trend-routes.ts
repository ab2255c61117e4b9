import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import { GatewayError } from '../../errors.js';
import type { TrendReader } from '../../sinks/influx/trend-reader.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';

export interface TrendRouteDeps {
  registry: DeviceRegistry;
  /** Null while no InfluxDB is configured: every trend is refused with `trend_unavailable` and this reason. */
  trend: TrendReader | null;
  trendDisabledReason: string | null;
}

const HOUR = 3_600_000;
const MAX_RANGE = 31 * 24 * HOUR;
const time = z.iso.datetime({ offset: true });

const trendQuery = z.object({
  metric: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,63}$/, 'a metric name: lower-case letters, digits and _')
    .meta({ examples: ['hopper_temp'] }),
  from: time
    .optional()
    .meta({ examples: ['2026-11-22T07:00:00Z'] })
    .describe('ISO 8601; default: an hour before `to`'),
  to: time
    .optional()
    .meta({ examples: ['2026-11-22T09:00:00Z'] })
    .describe('ISO 8601; default: now'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(2_000)
    .meta({ examples: [500] })
    .describe('at most this many points; the newest are kept'),
});

const trend = z
  .object({
    device: z.string(),
    metric: z.string(),
    from: z.string(),
    to: z.string(),
    points: z
      .array(z.object({ t: z.number().describe('epoch ms'), v: z.union([z.number(), z.string(), z.boolean()]) }))
      .describe('oldest first'),
    truncated: z.boolean().describe('there were more points in the range: these are the newest'),
  })
  .meta({
    description: 'the readings of one metric, oldest first',
    examples: [
      {
        device: 'dc-01',
        metric: 'hopper_temp',
        from: '2026-11-22T07:00:00.000Z',
        to: '2026-11-22T09:00:00.000Z',
        points: [
          { t: 1763798400000, v: 68.5 },
          { t: 1763798403000, v: 71.2 },
        ],
        truncated: false,
      },
    ],
  });

/** `GET /api/devices/{id}/trend`: one metric of one device over a time range, read back from InfluxDB (contract §7). */
export function registerTrendRoutes(app: FastifyInstance, deps: TrendRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/api/devices/:id/trend',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A metric's readings over a time range, from InfluxDB (the console's trends)",
        tags: ['devices'],
        params: z.object({ id: z.string().meta({ examples: ['dc-01'] }) }),
        querystring: trendQuery,
        response: {
          200: trend,
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'device_not_found', 'trend_unavailable', 'trend_failed']),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { metric, limit } = request.query;
      if (!deps.registry.get(id)) return sendError(reply, 'device_not_found', `no device ${id}`);
      const to = request.query.to === undefined ? Date.now() : Date.parse(request.query.to);
      const from = request.query.from === undefined ? to - HOUR : Date.parse(request.query.from);
      if (from > to || to - from > MAX_RANGE)
        return sendError(reply, 'validation_failed', 'from must be before to, at most 31 days apart', [
          { path: 'from', message: 'from must be before to, at most 31 days apart' },
        ]);
      if (!deps.trend) return sendError(reply, 'trend_unavailable', `no trend: ${deps.trendDisabledReason ?? 'InfluxDB is off'}`);
      try {
        const read = await deps.trend.read({ device: id, metric, from, to, limit });
        return { device: id, metric, from: new Date(from).toISOString(), to: new Date(to).toISOString(), ...read };
      } catch (error) {
        if (error instanceof GatewayError) return sendError(reply, error.code, error.message);
        throw error;
      }
    },
  );
}
