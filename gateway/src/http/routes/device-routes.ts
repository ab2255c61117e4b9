import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DeviceRegistry } from '../../devices/device-registry.js';
import type { DeviceStatusBook } from '../../devices/device-status.js';
import type { Quarantine } from '../../ingest/quarantine.js';
import { REJECTION_REASONS } from '../../ingest/rejection.js';
import { parseOr400 } from '../validate.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const quarantineQuery = z.object({
  reason: z.enum(Object.keys(REJECTION_REASONS) as [keyof typeof REJECTION_REASONS]).optional(),
  device: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

export interface DeviceRouteDeps {
  registry: DeviceRegistry;
  deviceStatus: DeviceStatusBook;
  quarantine: Quarantine;
}

export function registerDeviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  app.get('/api/devices', { config: { role: 'viewer' } }, async () => {
    const devices = [...deps.registry.all()].map((device) => {
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
        attributes: device.attributes,
      };
    });
    return { devices, count: devices.length };
  });

  app.get('/api/quarantine', { config: { role: 'viewer' } }, async (request, reply) => {
    const query = parseOr400(quarantineQuery, request.query, reply);
    if (!query) return reply;
    const entries = deps.quarantine.list(query);
    return { entries, count: entries.length, reasons: REJECTION_REASONS };
  });
}
