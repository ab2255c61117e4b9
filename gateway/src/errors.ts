/**
 * The one catalogue of the gateway's error codes: faults (thrown, with whether a retry can help) and the
 * codes the HTTP API answers with. Every code is documented in docs/errors.md (a test checks it).
 */
export const ERROR_CATALOGUE = {
  config_invalid: { status: 500, retryable: false, summary: 'The configuration file is invalid; every problem is listed with its path.' },
  config_unreadable: { status: 500, retryable: false, summary: 'The configuration file or a file it names cannot be read.' },
  rules_invalid: { status: 422, retryable: false, summary: 'A rule file is invalid; every problem is listed with file, line and path.' },
  listen_failed: { status: 500, retryable: true, summary: 'A listener could not bind its port (in use, or not permitted).' },
  influx_unavailable: { status: 503, retryable: true, summary: 'InfluxDB did not accept a write (unreachable, timeout, or 5xx).' },
  influx_rejected: {
    status: 500,
    retryable: false,
    summary: 'InfluxDB refused a write as bad data (4xx); the batch is dropped and counted.',
  },
  webhook_failed: { status: 502, retryable: true, summary: 'A webhook subscriber did not answer 2xx; retried with backoff.' },
  unauthorized: { status: 401, retryable: false, summary: 'No bearer token, or an unknown one.' },
  forbidden: {
    status: 403,
    retryable: false,
    summary: "The caller's role may not do this (viewer reads; operator acts; dispatcher also audits; admin administers).",
  },
  validation_failed: {
    status: 400,
    retryable: false,
    summary: 'The request body or query does not match the schema; details list each problem.',
  },
  not_found: { status: 404, retryable: false, summary: 'No such route or resource.' },
  not_acceptable: {
    status: 406,
    retryable: false,
    summary: "The request's Accept refuses what the route produces (the alarm stream produces only text/event-stream).",
  },
  payload_too_large: {
    status: 413,
    retryable: false,
    summary: 'The request body is larger than the API accepts (64 KiB; 512 KiB for the bulk alarm actions).',
  },
  unsupported_media_type: {
    status: 415,
    retryable: false,
    summary: 'The request body has a content type the API does not accept (send application/json).',
  },
  rate_limited: {
    status: 429,
    retryable: true,
    summary: 'Too many failed authentications from this address; try again after Retry-After seconds.',
  },
  alarm_not_found: { status: 404, retryable: false, summary: 'No alarm with that id (closed alarms are kept for a bounded time).' },
  alarm_resolved: { status: 409, retryable: false, summary: 'The alarm is already resolved (closed).' },
  alarm_still_active: {
    status: 409,
    retryable: false,
    summary: 'The condition is still active; an alarm can be resolved once it has cleared.',
  },
  alarm_already_acknowledged: { status: 409, retryable: false, summary: 'The alarm was already acknowledged.' },
  alarm_reoccurred: {
    status: 409,
    retryable: false,
    summary: 'The acknowledgement or resolution named an occurrence the alarm has passed: it cleared and came back since.',
  },
  disposal_required: {
    status: 422,
    retryable: false,
    summary: 'handling.requireDisposal is on: a resolve needs its disposal record (cause, measures, responsible).',
  },
  device_not_found: { status: 404, retryable: false, summary: 'No device with that id in the registry.' },
  site_not_found: { status: 404, retryable: false, summary: 'No device of the registry is on that site.' },
  shelve_requires_dispatcher: {
    status: 403,
    retryable: false,
    summary: 'A red (life-safety) alarm is shelved only by a dispatcher (or admin).',
  },
  alarm_already_shelved: { status: 409, retryable: false, summary: 'The alarm is already shelved (or in a maintenance window).' },
  alarm_in_maintenance_window: {
    status: 409,
    retryable: false,
    summary: "The alarm is held by a device's or site's maintenance window: end the window (POST /api/shelves/{id}/end).",
  },
  shelf_window_invalid: {
    status: 422,
    retryable: false,
    summary: 'The window ends in the past or before it begins, or names a device on another site.',
  },
  shelf_too_long: { status: 422, retryable: false, summary: 'The window is longer than handling.shelving.maxDuration allows.' },
  shelf_not_found: { status: 404, retryable: false, summary: 'No shelf or maintenance window with that id (or the alarm is not shelved).' },
  shelf_ended: { status: 409, retryable: false, summary: 'The shelf or maintenance window has already ended.' },
  trend_unavailable: {
    status: 503,
    retryable: false,
    summary: 'No InfluxDB is configured (influx.mode off, or none found): the gateway keeps no trend to read.',
  },
  trend_failed: { status: 502, retryable: true, summary: 'InfluxDB did not answer the trend query (unreachable, timeout, or an error).' },
  dead_letter_not_found: { status: 404, retryable: false, summary: 'No dead-lettered webhook delivery with that id.' },
  subscriber_not_configured: {
    status: 409,
    retryable: false,
    summary: 'The webhook subscriber a dead letter would go to is not configured (renamed or removed): replay it to another with `to`.',
  },
  webhook_not_found: { status: 404, retryable: false, summary: 'No webhook subscriber with that id.' },
  login_failed: {
    status: 401,
    retryable: false,
    summary: 'Wrong user name or password (or a disabled user); failed logins are throttled.',
  },
  user_exists: { status: 409, retryable: false, summary: 'A user with that name exists already (in the store or the config file).' },
  user_not_found: { status: 404, retryable: false, summary: 'No user with that name (created over the API).' },
  user_in_config: {
    status: 409,
    retryable: false,
    summary: 'The user is defined in the config file (api.users) and is changed there only.',
  },
  token_not_found: { status: 404, retryable: false, summary: 'No personal API token with that id (of yours).' },
  store_unavailable: {
    status: 500,
    retryable: false,
    summary: 'The local store cannot be opened or written: data directory missing, read-only or full, or a database of a newer gateway.',
  },
  cluster_unavailable: {
    status: 503,
    retryable: true,
    summary:
      'A cluster node cannot reach its Redis (`cluster.redis.url`) at start-up; or the node that judges the site of an alarm, shelf or maintenance window did not answer an action in time, has not taken the site over yet, or could not write it to Redis yet (try again; an action taken but not yet written stands on that node).',
  },
  internal: { status: 500, retryable: true, summary: 'An unexpected fault; it is logged with its stack.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.retryable = ERROR_CATALOGUE[code].retryable;
    this.details = details;
  }
}

/** A code that crossed a thread or process boundary as text: itself when the catalogue has it, else `internal`. */
export function errorCodeOf(code: string | undefined): ErrorCode {
  return code !== undefined && Object.hasOwn(ERROR_CATALOGUE, code) ? (code as ErrorCode) : 'internal';
}

/**
 * What ends a part of the gateway (`where`: "the telemetry lane", "the gateway's timers"), as it is reported: the
 * local store refusing a write (SQLite's errors) is `store_unavailable`; a GatewayError stays itself; anything else
 * (a fault in the code) is `internal`, so that an operator is not sent to look at a disk that is fine.
 */
export function fatalFailureOf(error: unknown, where: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_'))
    return new GatewayError('store_unavailable', `the local store cannot write: ${message}`, undefined, { cause: error });
  return new GatewayError('internal', `${where} failed: ${message}`, undefined, { cause: error });
}
