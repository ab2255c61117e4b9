import { telemetryTopicOf } from './mqtt-device.js';
import { connectPacket, openRawSession, type RawSession, rawPublish } from './raw-mqtt.js';
import type { TestDevice } from './test-gateway.js';

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

/** How long a device keeps trying to have its reading acknowledged. */
const REPORT_DEADLINE_MS = 90_000;

/**
 * Connects as `device` and sends one reading at QoS 1 until it is acknowledged, as a device does: a connection
 * refused (CONNACK 3 while the gateway is behind) or closed before the PUBACK is tried again half a second later.
 */
async function reportUntilAcknowledged(url: string, device: TestDevice, payload: Buffer, deadline: number): Promise<RawSession> {
  for (;;) {
    const session = await openRawSession(url);
    session.send(connectPacket(device.id, device.id, device.secret));
    session.send(rawPublish(telemetryTopicOf(device.site, device.id), payload, 1, 1));
    for (;;) {
      if (session.packets.some((p) => p.cmd === 'puback')) return session;
      const refused = session.packets.some((p) => p.cmd === 'connack' && p.returnCode !== 0);
      if (refused || session.isClosed) break;
      if (Date.now() > deadline) throw new Error(`${device.id}: no PUBACK within ${REPORT_DEADLINE_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    session.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A device's connection that had its reading acknowledged. */
export interface Reporter {
  device: TestDevice;
  session: RawSession;
}

/**
 * Every device connects (raw MQTT 3.1.1, a socket each, 250 at a time) and sends one reading at QoS 1, its time
 * `ts()`, trying again like a device until it is acknowledged; each is added to `into` once acknowledged (so that
 * `keepReporting` on it takes the first devices back while the others connect). Resolves with `into`.
 */
export async function reportOnce(
  url: string,
  devices: readonly TestDevice[],
  ts: () => number,
  metricsOf: (device: TestDevice) => Record<string, unknown>,
  into: Reporter[] = [],
): Promise<Reporter[]> {
  const deadline = Date.now() + REPORT_DEADLINE_MS;
  for (let start = 0; start < devices.length; start += 250) {
    await Promise.all(
      devices.slice(start, start + 250).map(async (device) => {
        const payload = Buffer.from(JSON.stringify({ ts: ts(), metrics: metricsOf(device) }));
        into.push({ device, session: await reportUntilAcknowledged(url, device, payload, deadline) });
      }),
    );
  }
  return into;
}

/**
 * Every `everyMs` each of `reporters` (read at each round: it may still grow) sends another reading (QoS 0, time
 * `ts()`), so that no device goes silent while a test goes on after its return (silence counts from real arrivals).
 * Returns the function that stops it.
 */
export function keepReporting(
  reporters: readonly Reporter[],
  everyMs: number,
  ts: () => number,
  metricsOf: (device: TestDevice) => Record<string, unknown>,
): () => void {
  const timer = setInterval(() => {
    for (const { device, session } of reporters) {
      if (session.isClosed) continue;
      const payload = Buffer.from(JSON.stringify({ ts: ts(), metrics: metricsOf(device) }));
      session.send(rawPublish(telemetryTopicOf(device.site, device.id), payload, 0, 0));
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
