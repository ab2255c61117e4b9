/**
 * Why a payload or a reading was not accepted. Stable codes: counted per reason in
 * `gateway_ingest_rejections_total` and per device in `GET /api/devices`, shown in `GET /api/quarantine`,
 * documented in the README.
 */
export const REJECTION_REASONS = {
  too_large: 'payload larger than mqtt.maxPayloadBytes',
  decode: 'payload is not UTF-8 JSON',
  schema: 'payload is not of the telemetry or status shape (contract §2)',
  unknown_device: 'the topic names a device that is not in the registry',
  unknown_metric: "a metric that the device's profile does not have",
  type: "a value of the wrong type for its metric (number, boolean or one of the profile's enum values)",
  unit: "a unit the gateway cannot convert to the metric's canonical unit",
  duplicate: 'a sequence number already seen from this device (QoS 1 redelivery); dropped once',
  future_timestamp: 'a reading time further ahead of the gateway clock than ingest.maxClockAhead (default 5 min)',
  past_timestamp:
    "a reading time further behind the gateway clock than ingest.maxAge (default 90 days), or than InfluxDB's influx.retention when that is shorter",
  internal: 'judging the payload failed unexpectedly; the error is logged with its stack and the payload kept',
  topic: 'not a telemetry or status topic',
  forbidden: "a topic under another device's namespace (ACL)",
  influx_refused: 'InfluxDB refused the stored point as invalid (its answer is the detail); the rest of its batch was written',
} as const;

export type RejectionReason = keyof typeof REJECTION_REASONS;

export interface Rejection {
  reason: RejectionReason;
  /** What exactly was wrong, for the operator (`metrics.hopper_temp: expected number, got "hot"`). */
  detail: string;
}

export const reject = (reason: RejectionReason, detail: string): Rejection => ({ reason, detail });
