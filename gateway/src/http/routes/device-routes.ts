import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PROFILES } from '../../../../profiles/index.js';
import { metricValueSchema } from '../../../../rules/src/index.js';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import type { DeviceStatusBook } from '../../devices/device-status.js';
import type { Quarantine, QuarantineEntry } from '../../ingest/quarantine.js';
import { REJECTION_REASONS, type RejectionReason } from '../../ingest/rejection.js';
import { AUTH_ERRORS, errorResponses } from '../api-error.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const rejectionReason = z.enum(Object.keys(REJECTION_REASONS) as [RejectionReason, ...RejectionReason[]]);

const quarantineQuery = z.object({
  reason: rejectionReason.optional().meta({ examples: ['unknown_metric'] }),
  device: z
    .string()
    .optional()
    .meta({ examples: ['dc-01'] }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .meta({ examples: [20] }),
});

const isoOrNull = z.string().nullable().describe('ISO 8601, or null when never');

const deviceView = z.object({
  id: z.string(),
  site: z.string(),
  profile: z.string(),
  name: z.string().nullable(),
  online: z.boolean().describe('at least one of its MQTT connections is open'),
  connections: z.number().int().min(0),
  reportedStatus: z.enum(['online', 'offline']).nullable().describe('what the device last said on its status topic'),
  connectedAt: isoOrNull,
  lastSeen: isoOrNull,
  lastReadingAt: isoOrNull,
  lastValues: z.record(z.string(), metricValueSchema),
  units: z.record(z.string(), z.string()).describe("the canonical unit of each numeric metric of the device's profile"),
  attributes: z.record(z.string(), metricValueSchema),
  rejections: z
    .partialRecord(rejectionReason, z.number().int().min(1))
    .describe('payloads and readings refused since start-up, per reason code (the refused payloads: GET /api/quarantine)'),
});

const EXAMPLE_DEVICE = {
  id: 'dc-01',
  site: 'site-a',
  profile: 'dust-collector',
  name: 'Dust collector 1, hall A',
  online: true,
  connections: 1,
  reportedStatus: 'online',
  connectedAt: '2026-11-22T07:58:10.000Z',
  lastSeen: '2026-11-22T08:00:03.120Z',
  lastReadingAt: '2026-11-22T08:00:03.000Z',
  lastValues: { diff_pressure: 1210, hopper_temp: 71.2, rotary_valve: 'running', fan_running: true },
  units: { diff_pressure: 'Pa', hopper_temp: '°C' },
  attributes: { collector_type: 'dry', design_flow_m3h: 20 },
  rejections: { unknown_metric: 2, duplicate: 1 },
} as const satisfies z.input<typeof deviceView>;

const deviceList = z
  .object({ devices: z.array(deviceView), count: z.number().int() })
  .meta({ description: 'every registered device', examples: [{ devices: [EXAMPLE_DEVICE], count: 1 }] });

const quarantineEntry = z.object({
  at: z.string().describe('ISO 8601 receive time'),
  reason: rejectionReason,
  detail: z.string(),
  topic: z.string(),
  clientId: z.string().nullable(),
  site: z.string().nullable(),
  device: z.string().nullable(),
  payloadBytes: z.number().int().min(0),
  payload: z.string().describe("the payload's first 2 KiB"),
  payloadEncoding: z.enum(['utf8', 'base64']),
  truncated: z.boolean(),
}) satisfies z.ZodType<QuarantineEntry>;

const quarantineList = z
  .object({
    entries: z.array(quarantineEntry).describe('newest first'),
    count: z.number().int(),
    reasons: z.record(rejectionReason, z.string()).describe('every reason code and what it means'),
  })
  .meta({
    description: 'refused payloads, newest first',
    examples: [
      {
        entries: [
          {
            at: '2026-11-22T08:00:03.120Z',
            reason: 'unknown_metric',
            detail: 'metrics.hoper_temp: not a metric of dust-collector',
            topic: 'sites/site-a/devices/dc-01/telemetry',
            clientId: 'dc-01',
            site: 'site-a',
            device: 'dc-01',
            payloadBytes: 31,
            payload: '{"metrics":{"hoper_temp":38.5}}',
            payloadEncoding: 'utf8',
            truncated: false,
          },
        ],
        count: 1,
        reasons: REJECTION_REASONS,
      },
    ],
  });

/** The canonical units of a profile's numeric metrics. */
const unitsOf = (profile: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(PROFILES.get(profile)?.metrics ?? {}).flatMap(([metric, spec]) =>
      'unit' in spec && spec.unit ? [[metric, spec.unit]] : [],
    ),
  );

export interface DeviceRouteDeps {
  registry: DeviceRegistry;
  deviceStatus: DeviceStatusBook;
  quarantine: Quarantine;
}

export function registerDeviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/devices',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Devices with profile, site, online state, last seen and last values',
        tags: ['devices'],
        response: { 200: deviceList, ...errorResponses(AUTH_ERRORS) },
      },
    },
    async () => {
      const devices = [...deps.registry.all()].map((device): z.infer<typeof deviceView> => {
        const status = deps.deviceStatus.get(device.id);
        return {
          id: device.id,
          site: device.site,
          profile: device.profile,
          name: device.name,
          online: status.online,
          connections: status.connections,
          reportedStatus: status.reported,
          connectedAt: iso(status.connectedAt),
          lastSeen: iso(status.lastSeen),
          lastReadingAt: iso(status.lastReadingTs),
          lastValues: status.lastValues,
          units: unitsOf(device.profile),
          attributes: device.attributes,
          rejections: status.rejections,
        };
      });
      return { devices, count: devices.length };
    },
  );

  api.get(
    '/api/quarantine',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Refused payloads (a bounded ring), newest first',
        tags: ['devices'],
        querystring: quarantineQuery,
        response: { 200: quarantineList, ...errorResponses([...AUTH_ERRORS, 'validation_failed']) },
      },
    },
    async (request) => {
      const entries = deps.quarantine.list(request.query);
      return { entries, count: entries.length, reasons: REJECTION_REASONS };
    },
  );
}
