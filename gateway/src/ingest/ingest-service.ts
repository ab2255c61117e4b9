import type { Profile } from '../../../profiles/index.js';
import type { Reading } from '../../../rules/src/index.js';
import type { ClientSession } from '../broker/session.js';
import { topicMatches } from '../broker/topic-filter.js';
import type { DeviceRegistry, RegisteredDevice } from '../devices/device-registry.js';
import type { DeviceStatusBook } from '../devices/device-status.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { ingestTelemetry } from './ingest-telemetry.js';
import type { Quarantine } from './quarantine.js';
import type { Recorder } from './recorder.js';
import type { Rejection } from './rejection.js';
import { reject } from './rejection.js';
import type { SeqWindow } from './seq-window.js';
import { statusPayloadSchema } from './telemetry-schema.js';
import { parseDeviceTopic } from './topics.js';

export interface DevicePublish {
  session: ClientSession;
  clientId: string | null;
  topic: string;
  payload: Buffer;
  receivedAt: number;
}

/** `accept`: let the broker route the message on; `drop`: acknowledge it but route it nowhere. */
export type PublishDecision = 'accept' | 'drop';

export interface IngestServiceDeps {
  registry: DeviceRegistry;
  profiles: ReadonlyMap<string, Profile>;
  maxPayloadBytes: number;
  labMode: { allow: readonly string[]; deny: readonly string[] };
  seqWindow: SeqWindow;
  quarantine: Quarantine;
  deviceStatus: DeviceStatusBook;
  metrics: GatewayMetrics;
  log: Logger;
  /** Where accepted readings go (the reading pipeline); must not block. */
  accept(readings: Reading[]): void;
  /** Records every device telemetry publish, as received (for backtests). */
  recorder?: Recorder | undefined;
}

export interface IngestService {
  handlePublish(publish: DevicePublish): PublishDecision;
}

/**
 * What happens to every PUBLISH from a client: the topic ACL, then decode → validate → normalise →
 * de-duplicate for telemetry, or the device's own status. Cheap and synchronous: it runs inside the
 * broker's publish hook and only enqueues.
 */
export function createIngestService(deps: IngestServiceDeps): IngestService {
  const record = (publish: DevicePublish, rejection: Rejection, device: RegisteredDevice | null, site: string | null): void => {
    const deviceLabel = device?.id ?? 'unknown';
    deps.metrics.rejections.inc({ reason: rejection.reason, device: deviceLabel });
    deps.log.debug({ device: deviceLabel, reason: rejection.reason, detail: rejection.detail, topic: publish.topic }, 'payload rejected');
    deps.quarantine.add(
      {
        at: new Date(publish.receivedAt).toISOString(),
        reason: rejection.reason,
        detail: rejection.detail,
        topic: publish.topic,
        clientId: publish.clientId,
        site: device?.site ?? site,
        device: device?.id ?? null,
      },
      publish.payload,
    );
  };

  const labAllows = (topic: string): boolean =>
    deps.labMode.allow.some((filter) => topicMatches(filter, topic)) && !deps.labMode.deny.some((filter) => topicMatches(filter, topic));

  return {
    handlePublish(publish) {
      const { session, topic } = publish;
      const parsed = parseDeviceTopic(topic);

      if (session.kind === 'device' && !topic.startsWith(session.device.topicPrefix)) {
        deps.metrics.mqttAclDenied.inc({ action: 'publish', client: session.device.id });
        record(
          publish,
          reject('forbidden', `${session.device.id} may publish only under ${session.device.topicPrefix}`),
          session.device,
          parsed?.site ?? null,
        );
        return 'drop';
      }
      if (session.kind === 'lab') {
        if (!labAllows(topic)) {
          deps.metrics.mqttAclDenied.inc({ action: 'publish', client: 'lab' });
          record(publish, reject('forbidden', `lab mode does not allow publishing to ${topic}`), null, parsed?.site ?? null);
          return 'drop';
        }
        if (!parsed) return 'accept';
      }

      deps.metrics.messagesReceived.inc({ channel: parsed?.channel === 'status' ? 'status' : 'telemetry' });
      if (!parsed || (parsed.channel !== 'telemetry' && parsed.channel !== 'status')) {
        const device = session.kind === 'device' ? session.device : null;
        record(
          publish,
          reject('topic', `expected sites/{site}/devices/{device}/telemetry or …/status, got ${topic}`),
          device,
          parsed?.site ?? null,
        );
        return 'drop';
      }
      const device = deps.registry.get(parsed.device);
      if (!device || device.site !== parsed.site) {
        record(publish, reject('unknown_device', `no device ${parsed.device} at site ${parsed.site} in the registry`), null, parsed.site);
        return 'drop';
      }

      if (parsed.channel === 'status') {
        const status = statusPayloadSchema.safeParse(publish.payload.toString('utf8'));
        if (!status.success) {
          record(publish, reject('schema', 'status payload must be "online" or "offline"'), device, device.site);
          return 'drop';
        }
        deps.deviceStatus.reported(device.id, status.data, publish.receivedAt);
        return 'accept';
      }

      deps.recorder?.record(topic, publish.payload, publish.receivedAt);
      const profile = deps.profiles.get(device.profile);
      if (!profile) {
        record(
          publish,
          reject('unknown_device', `device ${device.id} has profile ${device.profile}, which this gateway does not know`),
          device,
          device.site,
        );
        return 'drop';
      }
      const outcome = ingestTelemetry(
        { maxPayloadBytes: deps.maxPayloadBytes, seqWindow: deps.seqWindow },
        device,
        profile,
        publish.payload,
        publish.receivedAt,
      );
      for (const rejection of outcome.rejections) record(publish, rejection, device, device.site);
      if (outcome.accepted.length === 0) return 'drop';
      deps.metrics.readingsAccepted.inc({ profile: device.profile }, outcome.accepted.length);
      deps.accept(outcome.accepted.map((item) => item.reading));
      return 'accept';
    },
  };
}
