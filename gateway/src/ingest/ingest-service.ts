import { isReservedForDevices } from '../broker/authenticate.js';
import type { TooLargePublish } from '../broker/connection-guard.js';
import type { ClientSession } from '../broker/session.js';
import { topicMatches } from '../broker/topic-filter.js';
import type { DeviceRegistry, RegisteredDevice } from '../devices/device-registry.js';
import type { DeviceStatusBook } from '../devices/device-status.js';
import type { TelemetryLane } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createFaultLog } from './fault-log.js';
import type { Quarantine } from './quarantine.js';
import type { Recorder } from './recorder.js';
import type { Rejection } from './rejection.js';
import { reject } from './rejection.js';
import { statusPayloadSchema } from './telemetry-schema.js';
import { parseDeviceTopic } from './topics.js';

export interface DevicePublish {
  session: ClientSession;
  clientId: string | null;
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** A packet over mqtt.maxPacketBytes: read past, not buffered; `payload` is its first bytes only. */
  tooLarge?: TooLargePublish;
}

/**
 * `accept`: let the broker route the message on; `drop`: acknowledge it but route it nowhere;
 * `unavailable`: the gateway cannot take it now (its telemetry worker died): no acknowledgement, the
 * connection is closed, and the device sends it again once it reconnects.
 */
export type PublishDecision = 'accept' | 'drop' | 'unavailable';

export interface IngestServiceDeps {
  registry: DeviceRegistry;
  labMode: { allow: readonly string[]; deny: readonly string[] };
  /** Where telemetry of known devices is validated, evaluated and stored. */
  lane: Pick<TelemetryLane, 'submit'>;
  quarantine: Quarantine;
  deviceStatus: DeviceStatusBook;
  metrics: GatewayMetrics;
  log: Logger;
  /** Records every device telemetry publish, as received (for backtests). */
  recorder?: Recorder | undefined;
}

export interface IngestService {
  /** `decided` is called exactly once: at once, or when the telemetry lane has judged the payload. */
  handlePublish(publish: DevicePublish, decided: (decision: PublishDecision) => void): void;
}

/**
 * What happens to every PUBLISH from a client: the topic ACL and the device's own status here, and
 * telemetry of known devices handed to the telemetry lane (decode → validate → normalise → de-duplicate →
 * rules → storage). It runs inside the broker's publish hook, so the acknowledgement waits for the verdict.
 */
export function createIngestService(deps: IngestServiceDeps): IngestService {
  /** Counts one rejection: per reason in the metrics (a bounded label set), per device in GET /api/devices. */
  const count = (rejection: Rejection, device: RegisteredDevice | null): void => {
    deps.metrics.rejections.inc({ reason: rejection.reason });
    if (device) deps.deviceStatus.rejected(device.id, rejection.reason);
  };
  /** Keeps a rejected payload in the quarantine with its reason (and logs it). */
  const keep = (publish: DevicePublish, rejection: Rejection, device: RegisteredDevice | null, site: string | null): void => {
    deps.log.debug(
      { device: device?.id ?? null, reason: rejection.reason, detail: rejection.detail, topic: publish.topic },
      'payload rejected',
    );
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
  const record = (publish: DevicePublish, rejection: Rejection, device: RegisteredDevice | null, site: string | null): void => {
    count(rejection, device);
    keep(publish, rejection, device, site);
  };
  /**
   * The readings of one payload refused: each counted, but the payload kept once per reason — a backlog of 1,000 sent
   * again after a lost PUBACK is one quarantine entry of 1,000 duplicates, not 1,000 entries pushing out the device's
   * other evidence (and 1,000 writes on this thread).
   */
  const recordReadings = (publish: DevicePublish, rejections: readonly Rejection[], device: RegisteredDevice): void => {
    const byReason = new Map<Rejection['reason'], { first: Rejection; more: number }>();
    for (const rejection of rejections) {
      count(rejection, device);
      const seen = byReason.get(rejection.reason);
      if (seen) seen.more += 1;
      else byReason.set(rejection.reason, { first: rejection, more: 0 });
    }
    for (const { first, more } of byReason.values()) {
      const detail = more === 0 ? first.detail : `${first.detail} (and ${more} more readings of this payload)`;
      keep(publish, { ...first, detail }, device, device.site);
    }
  };

  // Labelled children bound once: this runs for every PUBLISH.
  const receivedTelemetry = deps.metrics.messagesReceived.labels({ channel: 'telemetry' });
  const receivedStatus = deps.metrics.messagesReceived.labels({ channel: 'status' });

  const labAllows = (topic: string): boolean =>
    !isReservedForDevices(topic) &&
    deps.labMode.allow.some((filter) => topicMatches(filter, topic)) &&
    !deps.labMode.deny.some((filter) => topicMatches(filter, topic));

  const fault = createFaultLog(deps.log);

  const judgePublish = (publish: DevicePublish, decided: (decision: PublishDecision) => void) => {
    const { session, topic } = publish;
    const parsed = parseDeviceTopic(topic);

    if (session.kind === 'device' && !topic.startsWith(session.device.topicPrefix)) {
      deps.metrics.mqttAclDenied.inc({ action: 'publish' });
      record(
        publish,
        reject('forbidden', `${session.device.id} may publish only under ${session.device.topicPrefix}`),
        session.device,
        parsed?.site ?? null,
      );
      return decided('drop');
    }
    if (session.kind === 'lab' && !labAllows(topic)) {
      deps.metrics.mqttAclDenied.inc({ action: 'publish' });
      record(publish, reject('forbidden', `lab mode does not allow publishing to ${topic}`), null, parsed?.site ?? null);
      return decided('drop');
    }
    if (publish.tooLarge) {
      // only its first bytes are here: never judged, nor routed on (a lab subscriber would get them as the message)
      const { bytes, limit } = publish.tooLarge;
      const detail = `packet of ${bytes} bytes > limit of ${limit} (mqtt.maxPacketBytes): read past, its first ${publish.payload.length} bytes kept`;
      const device = session.kind === 'device' ? session.device : null;
      if (device) (parsed?.channel === 'status' ? receivedStatus : receivedTelemetry).inc();
      record(publish, reject('too_large', detail), device, device?.site ?? parsed?.site ?? null);
      return decided('drop');
    }
    if (session.kind === 'lab' && !parsed) return decided('accept');

    (parsed?.channel === 'status' ? receivedStatus : receivedTelemetry).inc();
    if (!parsed || (parsed.channel !== 'telemetry' && parsed.channel !== 'status')) {
      const device = session.kind === 'device' ? session.device : null;
      record(
        publish,
        reject('topic', `expected sites/{site}/devices/{device}/telemetry or …/status, got ${topic}`),
        device,
        parsed?.site ?? null,
      );
      return decided('drop');
    }
    const device = deps.registry.get(parsed.device);
    if (!device || device.site !== parsed.site) {
      record(publish, reject('unknown_device', `no device ${parsed.device} at site ${parsed.site} in the registry`), null, parsed.site);
      return decided('drop');
    }

    if (parsed.channel === 'status') {
      // `echo online | mosquitto_pub -s` sends a line: the word is what counts
      const status = statusPayloadSchema.safeParse(publish.payload.toString('utf8').trim());
      if (!status.success) {
        record(publish, reject('schema', 'status payload must be "online" or "offline"'), device, device.site);
        return decided('drop');
      }
      deps.deviceStatus.reported(device.id, status.data, publish.receivedAt);
      return decided('accept');
    }

    deps.recorder?.record(topic, publish.payload, publish.receivedAt);
    deps.lane.submit(device, publish.payload, publish.receivedAt, (verdict) => {
      if (verdict.unavailable) return decided('unavailable');
      if (verdict.rejections.length > 0) recordReadings(publish, verdict.rejections, device);
      decided(verdict.accepted > 0 ? 'accept' : 'drop');
    });
  };

  return {
    handlePublish(publish, decided) {
      let answered = false;
      const once = (decision: PublishDecision): void => {
        if (answered) return;
        answered = true;
        decided(decision);
      };
      try {
        judgePublish(publish, once);
      } catch (error) {
        // A fault on the broker side is the payload's rejection too: answered, kept, counted; never an exit.
        const device = publish.session.kind === 'device' ? publish.session.device : null;
        record(publish, fault.rejection(error, device?.id ?? 'unknown'), device, device?.site ?? null);
        once('drop');
      }
    },
  };
}
