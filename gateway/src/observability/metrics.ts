import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

/** The namespace of every metric the gateway exports, prom-client's process and runtime metrics included. */
const PREFIX = 'gateway_';

/**
 * prom-client's runtime metrics that belong to one thread (its V8 heap, event loop, GC, active handles), as
 * opposed to the process's (CPU, resident memory, file descriptors, start time) and the Node.js version.
 */
const isThreadMetric = (name: string): boolean => name.startsWith(`${PREFIX}nodejs_`) && name !== `${PREFIX}nodejs_version_info`;

/**
 * prom-client's gauges that end in `_total` as if they were counters (against Prometheus naming; promtool
 * says so); the per-type gauges beside them (`gateway_nodejs_active_handles{type}`) hold the same numbers.
 */
const COUNTER_NAMED_GAUGES = ['active_handles_total', 'active_requests_total', 'active_resources_total'].map((n) => `${PREFIX}nodejs_${n}`);

/** `thread` label values: the main thread, and the telemetry lane's worker thread (`lane.thread: worker`). */
export const THREADS = { main: 'main', worker: 'telemetry' } as const;

export interface GatewayMetricsOptions {
  /** The process's metrics (`gateway_process_*`, `gateway_nodejs_version_info`) and this thread's. Default true. */
  processMetrics?: boolean;
  /** Only this thread's runtime metrics (heap, event loop, GC): for the telemetry worker thread. Default false. */
  threadMetrics?: boolean;
}

/**
 * Every Prometheus metric the gateway exports, on one registry (`GET /metrics`). A telemetry worker
 * thread keeps a registry of its own with its thread's runtime metrics but not the process's; `/metrics`
 * adds the two up, each thread's runtime metrics labelled `thread` (metricsExposition).
 */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}) {
  const registry = new Registry();
  const processMetrics = options.processMetrics ?? true;
  if (processMetrics || options.threadMetrics) {
    collectDefaultMetrics({ register: registry, prefix: PREFIX });
    for (const name of COUNTER_NAMED_GAUGES) registry.removeSingleMetric(name);
    if (!processMetrics)
      for (const metric of registry.getMetricsAsArray()) if (!isThreadMetric(metric.name)) registry.removeSingleMetric(metric.name);
  }
  const registers = [registry];
  let openAlarms: (() => Iterable<[string, number]>) | null = null;
  return {
    registry,
    mqttConnections: new Gauge({ name: 'gateway_mqtt_connections', help: 'Connected MQTT clients', registers }),
    mqttConnectRefused: new Counter({
      name: 'gateway_mqtt_connect_refused_total',
      help: 'CONNECT refused, by reason (bad_credentials, unknown_device, client_id, client_id_taken, anonymous, will_topic, max_connections, throttled_address, throttled_device, server_busy)',
      labelNames: ['reason'],
      registers,
    }),
    mqttConnectsHeld: new Gauge({
      name: 'gateway_mqtt_connects_held',
      help: 'CONNECTs with good credentials waiting for their CONNACK while the telemetry lane is behind (mqtt.admission)',
      registers,
    }),
    laneDelay: new Gauge({
      name: 'gateway_lane_delay_seconds',
      help: 'How long a publish arriving now would wait for its verdict, estimated (the telemetry lane falling behind; mqtt.admission holds CONNECTs from maxLaneWait)',
      registers,
    }),
    laneUnanswered: new Gauge({
      name: 'gateway_lane_unanswered_seconds',
      help: "How long the telemetry lane's worker has not answered its heartbeat (0: it answers); from 30 s /readyz fails",
      registers,
    }),
    clockSteps: new Counter({
      name: 'gateway_clock_steps_total',
      help: "Steps of the host's wall clock (NTP, date -s, a virtual machine resumed) the rules' timers were moved by",
      registers,
    }),
    mqttConnectionsClosed: new Counter({
      name: 'gateway_mqtt_connections_closed_total',
      help: 'Connections the gateway closed itself, by reason (pre_auth_bytes, packet_too_large, protocol_version, protocol_error)',
      labelNames: ['reason'],
      registers,
    }),
    mqttAclDenied: new Counter({
      name: 'gateway_mqtt_acl_denied_total',
      help: 'PUBLISH dropped or SUBSCRIBE refused by the topic ACL, by action (publish, subscribe)',
      labelNames: ['action'],
      registers,
    }),
    messagesReceived: new Counter({
      name: 'gateway_messages_received_total',
      help: 'PUBLISH packets received from devices',
      labelNames: ['channel'],
      registers,
    }),
    readingsAccepted: new Counter({
      name: 'gateway_readings_accepted_total',
      help: 'Readings accepted after validation',
      labelNames: ['profile'],
      registers,
    }),
    readingsLate: new Counter({
      name: 'gateway_readings_late_total',
      help: 'Readings older than one already evaluated: stored, not evaluated',
      registers,
    }),
    rejections: new Counter({
      name: 'gateway_ingest_rejections_total',
      help: 'Payloads or readings refused, by reason code (per device: GET /api/devices, GET /api/quarantine)',
      labelNames: ['reason'],
      registers,
    }),
    alarmEvents: new Counter({
      name: 'gateway_alarm_events_total',
      help: 'Alarm events emitted, by type and severity',
      labelNames: ['type', 'severity'],
      registers,
    }),
    alarmChaseSteps: new Counter({
      name: 'gateway_alarm_chase_steps_total',
      help: 'Escalation steps fired (alarm.chased), by policy and condition (not_acknowledged, not_assigned, not_resolved, overdue)',
      labelNames: ['policy', 'condition'],
      registers,
    }),
    alarmsOpen: new Gauge({
      name: 'gateway_alarms_open',
      help: 'Open (not resolved) alarms by severity',
      labelNames: ['severity'],
      registers,
      // counted when read, not on every transition: a count of thousands of open alarms has no place in an alarm's commit
      collect() {
        if (openAlarms) for (const [severity, count] of openAlarms()) this.set({ severity }, count);
      },
    }),
    alarmDecision: new Histogram({
      name: 'gateway_alarm_decision_seconds',
      help: 'From the broker receiving a reading to the alarm transition it caused recorded and handed to the webhooks and the live feed',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    /** Where `gateway_alarms_open` gets its counts per severity, each time /metrics is read (the alarm service's). */
    countOpenAlarms(count: () => Iterable<[severity: string, count: number]>): void {
      openAlarms = count;
    },
    storeSize: new Gauge({
      name: 'gateway_store_size_bytes',
      help: 'Size of the local store on disk: its file and its write-ahead log (store.maxBytes bounds the database pages)',
      registers,
    }),
    storeLimit: new Gauge({ name: 'gateway_store_limit_bytes', help: 'store.maxBytes (0: no bound but the disk)', registers }),
    storeCheckpoint: new Histogram({
      name: 'gateway_store_checkpoint_seconds',
      help: "Checkpoints of the local store's write-ahead log on the checkpointer thread that found new frames, by duration (fsyncs included)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    storeLogFrames: new Gauge({
      name: 'gateway_store_log_frames',
      help: "Frames in the local store's write-ahead log at the last checkpoint (growing: checkpoints fall behind the commits)",
      registers,
    }),
    clusterMembers: new Gauge({
      name: 'gateway_cluster_members',
      help: 'Live gateway nodes as this node last saw them in Redis, itself included (1 on a single node)',
      registers,
    }),
    clusterForwarded: new Counter({
      name: 'gateway_cluster_forwarded_total',
      help: 'PUBLISH of devices of sites another node owns, sent to the owner, by outcome (judged, unavailable: no verdict in time or refused by the owner)',
      labelNames: ['outcome'],
      registers,
    }),
    clusterSitesOwned: new Gauge({
      name: 'gateway_cluster_sites_owned',
      help: 'Sites of the registry this node owns (all of them on a single node)',
      registers,
    }),
    clusterSiteWrites: new Counter({
      name: 'gateway_cluster_site_writes_total',
      help: 'Writes of a site’s rule state and alarms to the shared store, by outcome (written; reclaimed: Redis had lost the site, claimed again; fenced: another node took the site; failed: Redis, retried)',
      labelNames: ['outcome'],
      registers,
    }),
    clusterSitesTaken: new Counter({
      name: 'gateway_cluster_sites_taken_total',
      help: 'Sites this node took over with their saved rule state and alarms (ownership moved to it)',
      registers,
    }),
    sinkQueued: new Gauge({ name: 'gateway_sink_queued', help: 'Items waiting in a sink queue', labelNames: ['sink'], registers }),
    sinkWritten: new Counter({ name: 'gateway_sink_written_total', help: 'Items a sink delivered', labelNames: ['sink'], registers }),
    sinkFailed: new Counter({ name: 'gateway_sink_failed_total', help: 'Failed sink attempts (retried)', labelNames: ['sink'], registers }),
    sinkDropped: new Counter({
      name: 'gateway_sink_dropped_total',
      help: 'Items a sink gave up on (queue full, rejected, exhausted)',
      labelNames: ['sink', 'reason'],
      registers,
    }),
    sinkLatency: new Histogram({
      name: 'gateway_sink_request_duration_seconds',
      help: 'Duration of one sink request (InfluxDB batch write, webhook POST)',
      labelNames: ['sink'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    liveFeedClients: new Gauge({ name: 'gateway_live_feed_clients', help: 'Connected SSE clients', registers }),
    webhookDeadLetters: new Counter({
      name: 'gateway_webhook_dead_letters_total',
      help: 'Webhook events dead-lettered, by subscriber and reason (exhausted, not_retryable, gone, subscriber_disabled, queue_full, subscriber_removed)',
      labelNames: ['subscriber', 'reason'],
      registers,
    }),
    webhookDeadLettersForgotten: new Counter({
      name: 'gateway_webhook_dead_letters_forgotten_total',
      help: 'The oldest webhook dead letters forgotten to stay within store.deadLetters.max (no longer listed or replayable)',
      registers,
    }),
    httpAuthFailures: new Counter({
      name: 'gateway_http_auth_failures_total',
      help: 'API requests and logins refused for authentication, by reason (missing_token, bad_token, bad_session, bad_password, rate_limited)',
      labelNames: ['reason'],
      registers,
    }),
  };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** A thread's runtime metrics get its `thread` label; the gateway's own metrics are left to be summed. */
const labelThread = (metrics: readonly MetricJson[], thread: string): MetricJson[] =>
  metrics.map((metric) =>
    isThreadMetric(metric.name) ? { ...metric, values: metric.values.map((v) => ({ ...v, labels: { ...v.labels, thread } })) } : metric,
  );

/**
 * Prometheus text of `registry` (the main thread's) plus the metrics of the telemetry worker's registry
 * (prom-client JSON): the gateway's counters and gauges summed per series, each thread's heap, event loop and
 * GC metrics side by side with their `thread` label.
 */
export async function metricsExposition(registry: Registry, workerMetrics: readonly unknown[]): Promise<string> {
  const worker = labelThread(workerMetrics as MetricJson[], THREADS.worker);
  const inWorker = new Set(worker.map((metric) => metric.name));
  // A metric only the main thread has keeps its value whatever its aggregator (process start time is 'omit').
  const own = labelThread(await registry.getMetricsAsJSON(), THREADS.main).map((metric) =>
    inWorker.has(metric.name) ? metric : { ...metric, aggregator: 'first' as const },
  );
  return AggregatorRegistry.aggregate([own, worker]).metrics();
}
