import { telemetryTopicOf } from './mqtt-device.js';
import { connectPacket, openRawSession, type RawSession, rawPublish } from './raw-mqtt.js';
import { eventually, type TestDevice } from './test-gateway.js';

/** `count` dust collectors spread over `sites`, one secret for all, reporting every 10 s (silent after 30 s). */
export function dustFleet(count: number, sites: readonly string[]): TestDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `dc-${String(i).padStart(4, '0')}`,
    site: sites[i % sites.length] as string,
    profile: 'dust-collector',
    secret: 'secret-fleet',
    attributes: { reportingIntervalMs: 10_000 },
  }));
}

/**
 * Every device connects (raw MQTT 3.1.1, a socket each, 250 at a time) and sends one reading at QoS 1, its time
 * `ts()`; resolves with the open sessions once every reading is acknowledged.
 */
export async function reportOnce(
  url: string,
  devices: readonly TestDevice[],
  ts: () => number,
  metricsOf: (device: TestDevice) => Record<string, unknown>,
): Promise<RawSession[]> {
  const sessions: RawSession[] = [];
  for (let start = 0; start < devices.length; start += 250) {
    const batch = devices.slice(start, start + 250);
    const opened = await Promise.all(batch.map(() => openRawSession(url)));
    batch.forEach((device, i) => {
      const session = opened[i] as RawSession;
      session.send(connectPacket(device.id, device.id, device.secret));
      const payload = Buffer.from(JSON.stringify({ ts: ts(), metrics: metricsOf(device) }));
      session.send(rawPublish(telemetryTopicOf(device.site, device.id), payload, 1, 1));
    });
    sessions.push(...opened);
  }
  await eventually(
    'every reading acknowledged',
    () => (sessions.every((s) => s.packets.some((p) => p.cmd === 'puback')) ? true : undefined),
    30_000,
  );
  return sessions;
}
