import { PROFILES } from '../../../profiles/index.js';
import { hashSecret } from '../devices/secret-hash.js';
import type { GatewayConfig } from './config-schema.js';
import { validateConfig } from './load-config.js';

/**
 * Demo devices: id, site, profile, attributes — one or more of every profile; the simulators' `demo`
 * scenario drives exactly these. Their secrets are `demo-<id>` — for the embedded demo only. Devices of a
 * profile this build does not have yet are left out.
 */
type DemoDevice = { id: string; site: string; profile: string; name: string; attributes?: Record<string, number | string | boolean> };

const ALL_DEMO_DEVICES: DemoDevice[] = [
  { id: 'dc-01', site: 'plant-a', profile: 'dust-collector', name: 'Grinding line bag filter' },
  { id: 'dc-02', site: 'plant-a', profile: 'dust-collector', name: 'Polishing line bag filter' },
  { id: 'dc-03', site: 'plant-b', profile: 'dust-collector', name: 'Sanding line cartridge filter' },
  { id: 'cast-01', site: 'plant-a', profile: 'deep-well-casting', name: 'Casting pit 1' },
  { id: 'cs-01', site: 'plant-b', profile: 'confined-space', name: 'Sewage pit gas detector' },
  { id: 'slope-01', site: 'mine-a', profile: 'mine-slope', name: 'North wall GNSS 1', attributes: { slope_height_m: 180 } },
  { id: 'tail-pond', site: 'tailings-a', profile: 'tailings-dam', name: 'Pond station' },
  {
    id: 'pm-01',
    site: 'plant-a',
    profile: 'power',
    name: 'Plant A main meter',
    attributes: { declared_status: 'producing', p_idle_kw: 40, p_prod_kw: 400, contracted_kw: 630 },
  },
];

export const DEMO_DEVICES: readonly DemoDevice[] = ALL_DEMO_DEVICES.filter((device) => PROFILES.has(device.profile));

export const demoSecretOf = (deviceId: string): string => `demo-${deviceId}`;

/** API tokens of the demo, printed at start-up. */
export const DEMO_TOKENS = {
  viewer: 'demo-viewer-token-0000',
  operator: 'demo-operator-token-00',
  admin: 'demo-admin-token-000000',
} as const;

/**
 * The embedded defaults used without `--config`: the demo devices, demo tokens, InfluxDB in `auto` mode
 * (a local influxd when installed) keeping 7 days, data under ./data. Its tokens (an admin's among them) and device
 * secrets are public, so it listens on 127.0.0.1 only unless `overrides` say otherwise (`npm start -- --host`).
 */
export async function demoConfig(overrides: Partial<Record<string, unknown>> = {}): Promise<GatewayConfig> {
  const devices = await Promise.all(
    DEMO_DEVICES.map(async (device) => ({ ...device, secretHash: await hashSecret(demoSecretOf(device.id)) })),
  );
  return validateConfig(
    {
      // The demo's local database keeps a week of data, not everything forever.
      influx: { mode: 'auto', retention: '7d' },
      // public tokens and secrets: this machine only
      mqtt: { tcp: { host: '127.0.0.1' } },
      http: { host: '127.0.0.1' },
      devices,
      api: {
        tokens: Object.entries(DEMO_TOKENS).map(([role, token]) => ({ name: `demo-${role}`, role, token })),
      },
      ...overrides,
    },
    '(embedded demo defaults)',
  );
}
