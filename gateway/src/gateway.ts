import type { Aedes } from 'aedes';
import { PROFILES } from '../../profiles/index.js';
import { type AlarmEvent, createAlarmBook, type EngineChanges, type Severity } from '../../rules/src/index.js';
import { type AccountService, createAccountService } from './accounts/account-service.js';
import { type AlarmService, createAlarmService, MAX_CLOSED } from './alarms/alarm-service.js';
import { createEscalationService } from './alarms/escalation-service.js';
import { sameDayDeadline } from './alarms/same-day-deadline.js';
import { createShelfService, localShelfDesk } from './alarms/shelf-service.js';
import { createSpoolOverflowWatch, SPOOL_OVERFLOW } from './alarms/spool-overflow.js';
import type { AuditLog } from './audit/audit-log.js';
import { createAuditRetention } from './audit/audit-retention.js';
import { createAdmission } from './broker/admission.js';
import { createConnectThrottle } from './broker/connect-throttle.js';
import { guardedHandle } from './broker/connection-guard.js';
import { createBroker } from './broker/create-broker.js';
import { type MqttListener, startMqttListeners } from './broker/listeners.js';
import { actAnywhere, actForwarded, type TakenHere } from './cluster/alarm-actions.js';
import { type AlarmView, clusterAlarmView, createAlarmMirror } from './cluster/alarm-mirror.js';
import { type ClusterNode, createClusterNode, createSingleNode } from './cluster/cluster-node.js';
import { handedOnOutbox } from './cluster/handed-on-outbox.js';
import { reachRedis } from './cluster/membership.js';
import { judgeForwarded, routeToOwners, settledFirst } from './cluster/owner-routing.js';
import { createReadingForwarder } from './cluster/reading-forwarder.js';
import { createSharedAudit } from './cluster/shared-audit.js';
import { createSharedBrokerParts } from './cluster/shared-broker-parts.js';
import { createSharedDeviceStatus } from './cluster/shared-device-status.js';
import { shelfActionForwarded, shelvesAnywhere } from './cluster/shelf-actions.js';
import { createSiteReplica, type SiteReplica } from './cluster/site-replica.js';
import { createSiteTakeover, type SiteTakeover } from './cluster/site-takeover.js';
import { createVerdictWait, timingVerdicts } from './cluster/verdict-wait.js';
import type { GatewayConfig } from './config/config-schema.js';
import { createDeviceRegistry, type DeviceRegistry } from './devices/device-registry.js';
import { createDeviceStatusBook, type DeviceStatusBook } from './devices/device-status.js';
import { createSecretVerifier } from './devices/secret-hash.js';
import { fatalFailureOf } from './errors.js';
import { createHttpServer, type HttpServer } from './http/http-server.js';
import type { ReadinessCheck } from './http/routes/health-routes.js';
import { createIdSource } from './ids.js';
import { createIngestService } from './ingest/ingest-service.js';
import { createQuarantine, type Quarantine, refusedPointEntry } from './ingest/quarantine.js';
import { createRecorder } from './ingest/recorder.js';
import type { AcceptedSeq } from './ingest/seq-window.js';
import { laneConfigOf } from './lane/build-lane-core.js';
import { createClockSteps } from './lane/clock-steps.js';
import { watchHolds } from './lane/hold-watch.js';
import { createInlineLane } from './lane/inline-lane.js';
import { retellAcknowledgements } from './lane/retell-acknowledgements.js';
import { LANE_UNANSWERED_MS, type LaneOutlet, type TelemetryLane } from './lane/telemetry-lane.js';
import { createWorkerLane } from './lane/worker-lane.js';
import type { Logger } from './observability/logger.js';
import { createGatewayMetrics, type GatewayMetrics, metricsExposition } from './observability/metrics.js';
import { loadRuleSetOrThrow } from './rule-files/load-rule-files.js';
import type { ReloadResult } from './rule-files/rule-reloader.js';
import { resolveInfluxTarget } from './sinks/influx/influx-target.js';
import { alarmEventLine } from './sinks/influx/line-protocol.js';
import { createTrendReader } from './sinks/influx/trend-reader.js';
import { createLiveFeed, type LiveFeed } from './sinks/live-feed/live-feed.js';
import { createMemoryWebhookOutbox } from './sinks/webhook/webhook-outbox.js';
import { createWebhookSink, type WebhookSink } from './sinks/webhook/webhook-sink.js';
import { createSqliteAccountStore } from './store/account-store-sqlite.js';
import { createSqliteAlarmInbox } from './store/alarm-inbox-sqlite.js';
import { createSqliteAlarmStore } from './store/alarm-store-sqlite.js';
import { createSqliteAuditLog } from './store/audit-log-sqlite.js';
import { openStore, storeSizeBytes } from './store/open-store.js';
import { createSqliteQuarantineKeep } from './store/quarantine-sqlite.js';
import { createSpoolWriter } from './store/spool-queue.js';
import { openVolatileStore } from './store/volatile-store.js';
import { startWalCheckpointer } from './store/wal-checkpointer.js';
import { createSqliteWebhookOutbox } from './store/webhook-outbox-sqlite.js';
import { createWriterGate, writeFirst } from './store/writer-gate.js';

/** Audit entries the cluster's shared stream keeps (each node's own log keeps them for store.audit.retention). */
const SHARED_AUDIT_ENTRIES = 100_000;

export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
  /** The clock; tests may pass their own, which is not watched for steps (a test moving its clock moves time itself). */
  now?: () => number;
  /** Called if a part the gateway cannot run without dies (the telemetry worker); `main.ts` exits. */
  onFatal?: (error: Error) => void;
}

/** A started gateway: where it listens, its parts (for the API, tests and the demo), and `close()`. */
export interface RunningGateway {
  mqttUrl: string;
  httpUrl: string;
  listeners: MqttListener[];
  influx: { url: string | null; disabledReason: string | null };
  broker: Aedes;
  alarms: AlarmService;
  liveFeed: LiveFeed;
  webhooks: WebhookSink;
  /** Telemetry validation, rules and InfluxDB writes, on the main thread or in a worker (`lane.thread`). */
  lane: TelemetryLane;
  quarantine: Quarantine;
  registry: DeviceRegistry;
  metrics: GatewayMetrics;
  /** Named users, their console sessions and personal API tokens. */
  accounts: AccountService;
  /** Who did what, when and why: operator actions, logins, user, token and rule changes. */
  audit: AuditLog;
  http: HttpServer;
  /** This node's place in the cluster (a single node's stand-in without `cluster:`). */
  cluster: ClusterNode;
  readiness(): ReadinessCheck[];
  /** Prometheus text of every metric, the worker's included. */
  metricsText(): Promise<string>;
  /** Runs the rule timers and the alarm lifecycle at `now` (the ticker does this every `tickInterval`). */
  tick(now: number): void;
  /** Re-reads and validates the rule files and swaps them in; a rejected set leaves the old one running. */
  reloadRules(): Promise<ReloadResult>;
  /** Waits until accepted readings are evaluated and every sink has delivered what it holds. */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The composition of every part; `main.ts` reads the environment and calls this. */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { config, log } = options;
  const now = options.now ?? Date.now;
  const newId = createIdSource();
  const metrics = createGatewayMetrics();
  const registry = createDeviceRegistry(config.devices);
  const localDeviceStatus = createDeviceStatusBook();

  // Rule files are checked here, before anything starts, so a broken file stops the gateway with its line numbers.
  // The inline lane runs this set; a worker reads the files again on its own thread.
  const rules = loadRuleSetOrThrow(PROFILES, config.rules);

  const influx = await resolveInfluxTarget(config, log);
  // The main thread's connection to the local store (the alarm book, the webhook outbox); opened, and so created
  // or upgraded, before the telemetry lane opens its own.
  // With the lane in a worker thread both threads write it: this side's writes go first (writer-gate.ts).
  const writerGate = config.store.enabled && config.lane.thread === 'worker' ? createWriterGate() : undefined;
  const opened = config.store.enabled
    ? openStore({ dataDir: config.dataDir, synchronous: config.store.synchronous, maxBytes: config.store.maxBytes })
    : null;
  const store = opened && writerGate ? writeFirst(opened, writerGate) : opened;
  const quarantine = createQuarantine(config.quarantine, store ? createSqliteQuarantineKeep(store) : undefined, (error, entry) =>
    log.error({ err: error, device: entry.device, reason: entry.reason }, 'quarantine write failed'),
  );
  // Users, sessions, personal tokens and the audit log: in the store, or in memory with the store off.
  const accountsDb = store ?? openVolatileStore();
  const localAudit = createSqliteAuditLog(accountsDb, now);
  const clusterLog = log.child({ component: 'cluster' });
  // In a cluster every node's audit log also holds what was done on the others (a Redis stream each node copies).
  const sharedAudit = config.cluster
    ? createSharedAudit({
        local: localAudit,
        redisUrl: config.cluster.redis.url,
        keyPrefix: config.cluster.keyPrefix,
        nodeId: config.cluster.nodeId,
        maxEntries: SHARED_AUDIT_ENTRIES,
        log: clusterLog,
      })
    : null;
  const audit: AuditLog = sharedAudit ?? localAudit;
  const accounts = createAccountService({
    store: createSqliteAccountStore(accountsDb),
    configUsers: config.api.users,
    sessions: config.api.sessions,
    now,
    newId,
  });
  const auditRetention = createAuditRetention(audit, config.store.audit.retention);
  const systemAudit = { actorKind: 'system', target: null, note: null, by: null, address: null } as const;
  audit.record({ ...systemAudit, actor: 'system', action: 'gateway.start', outcome: 'ok', detail: { rules: config.rules } });
  // In a cluster the broker's messages and sessions live in Redis: unreachable at start-up, the node does not start.
  if (config.cluster) await reachRedis(config.cluster.redis.url);
  const sharedBroker = config.cluster ? createSharedBrokerParts(config.cluster.redis.url) : null;
  const registrySites = new Set([...registry.all()].map((device) => device.site));
  const clusterDeps = { sites: () => registrySites, metrics, log: clusterLog, now };
  const cluster: ClusterNode =
    config.cluster && sharedBroker ? createClusterNode(config.cluster, sharedBroker, clusterDeps) : createSingleNode(clusterDeps);
  // In a cluster a device's status merges every node's view: connected to one node, it is online on all.
  const sharedDeviceStatus = config.cluster
    ? createSharedDeviceStatus({
        local: localDeviceStatus,
        redisUrl: config.cluster.redis.url,
        keyPrefix: config.cluster.keyPrefix,
        nodeId: config.cluster.nodeId,
        liveNodes: () => cluster.nodeIds(),
        publishEvery: Math.min(500, config.cluster.heartbeat),
        log: clusterLog,
      })
    : null;
  const deviceStatus: DeviceStatusBook = sharedDeviceStatus ?? localDeviceStatus;
  let lane: TelemetryLane | null = null;
  let laneFailure: Error | null = null;
  // In a cluster the alarm book's record and the lane's rule state live in the shared store (cluster/site-replica.ts).
  const localAlarms = store !== null && !config.cluster;
  const alarms = createAlarmService({
    book: createAlarmBook({
      newAlarmId: () => `alm_${newId()}`,
      maxClosed: MAX_CLOSED,
      deadlineOf: sameDayDeadline(config.handling.deadline),
    }),
    now,
    newEventId: () => `evt_${newId()}`,
    metrics,
    log: log.child({ component: 'alarms' }),
    acknowledged: (key, at) => lane?.acknowledged(key, at),
    // In a cluster a reading may have arrived at another node (its clock), and events leave after the shared store's write.
    timesDecisions: !config.cluster,
    store: localAlarms && store ? createSqliteAlarmStore(store) : undefined,
    inbox: localAlarms && store ? createSqliteAlarmInbox(store) : undefined,
    retentionMs: config.store.alarms.retention,
    requireDisposal: config.handling.requireDisposal,
    onStoreFailure: (error) => {
      laneFailure = fatalFailureOf(error, 'the alarm book');
      options.onFatal?.(laneFailure);
    },
    // In a cluster the alarms a step touched, the shelves and inhibition state it changed go to the shared store.
    shared: config.cluster
      ? {
          recorded: (transitions) => replica?.recorded(transitions),
          flapsChanged: (alarms) => replica?.flapsChanged(alarms),
          shelvesChanged: (shelves) => replica?.shelvesChanged(shelves),
          inhibitionChanged: (changes) => replica?.inhibitionChanged(changes),
        }
      : undefined,
  });

  const escalation = createEscalationService({
    policies: config.handling.escalation,
    alarms,
    metrics,
    log: log.child({ component: 'escalation' }),
    knownUsers: accounts.users().map((user) => user.name),
  });

  let forgottenLetters = 0;
  const outboxIds = {
    newId: () => `dlq_${newId()}`,
    now,
    maxDeadLetters: config.store.deadLetters.max,
    forgotten(count: number) {
      metrics.webhookDeadLettersForgotten.inc(count);
      const before = forgottenLetters;
      forgottenLetters += count;
      // the first, then one line per hundred: a disabled subscriber dead-letters every event
      if (before === 0 || Math.floor(forgottenLetters / 100) > Math.floor(before / 100))
        log.warn({ forgotten: forgottenLetters, max: config.store.deadLetters.max }, 'webhook dead letters forgotten');
    },
  };
  const localOutbox = store ? createSqliteWebhookOutbox(store, outboxIds) : createMemoryWebhookOutbox(outboxIds);
  // In a cluster the shared store keeps each event until this node's outbox is done with it (see site-replica.ts).
  let handedOn: ((event: AlarmEvent) => void) | null = null;
  const outbox = config.cluster
    ? handedOnOutbox(
        localOutbox,
        config.webhooks.map((subscriber) => subscriber.id),
        (event) => handedOn?.(event),
      )
    : null;
  const webhooks = createWebhookSink({
    subscribers: config.webhooks,
    now,
    outbox: outbox ?? localOutbox,
    metrics,
    log: log.child({ component: 'webhooks' }),
    onStoreFailure: (error) => {
      laneFailure = fatalFailureOf(error, 'the webhook outbox');
      options.onFatal?.(laneFailure);
    },
    // up to the event's own transition: the events of one batch are matched after all of it is in the history. In a
    // cluster, events a dead owner never handed on are matched before the site's alarms are adopted: the mirror has them.
    severitiesOf: (alarmId, seq) => {
      const own = alarms.book.history(alarmId);
      const steps = own.length > 0 ? own : (mirror?.history(alarmId) ?? []);
      const seen = new Set<Severity>();
      for (const step of steps) if (step.alarm.seq <= seq) seen.add(step.alarm.severity);
      return [...seen];
    },
  });
  const liveFeed = createLiveFeed({ ringSize: config.liveFeed.ringSize, metrics, initialCursor: now() * 1_000 });
  // In a cluster an alarm event leaves the node only once its alarm is in the shared store: the next owner of the site
  // goes on from there, and nothing is delivered that it will not know of.
  let takeover: SiteTakeover | null = null;
  const replica: SiteReplica | null = config.cluster
    ? createSiteReplica({
        redisUrl: config.cluster.redis.url,
        keyPrefix: config.cluster.keyPrefix,
        incarnation: cluster.incarnation,
        memberTimeout: config.cluster.memberTimeout,
        shared: (site) => registrySites.has(site),
        book: alarms.book,
        onFenced: (site) => takeover?.fenced(site),
        onWritten: (site) => takeover?.written(site),
        metrics,
        log: clusterLog,
      })
    : null;
  if (replica) {
    alarms.onEvent((event) => replica.alarmEvent(event));
    handedOn = (event) => replica.handedOn(event);
  }
  /** `kept`: a sink that keeps events (webhooks, InfluxDB), also given those a dead owner wrote but never handed on. */
  const onAlarmEvent = (listener: (event: AlarmEvent) => void, kept = false): void => {
    if (!replica) return void alarms.onEvent(listener);
    replica.onReleased(listener);
    if (kept) replica.onRecovered(listener);
  };
  if (replica) {
    onAlarmEvent((event) => liveFeed.publish(event));
    onAlarmEvent((event) => {
      webhooks.deliver(event);
      outbox?.offered(event);
    }, true);
  } else {
    // Its outbox rows in the alarm's commit; its requests, and the live feed's event, once that commit is done: no one
    // hears of a transition the store could still roll back. The live feed first: its write is quick, a request is not.
    alarms.onEvent((event) => webhooks.enqueue(event));
    alarms.onCommitted((event) => liveFeed.publish(event));
    alarms.onCommitted(() => webhooks.send());
  }
  // Every node shows every node's alarms: its live feed carries the others' events too (their owners deliver the webhooks).
  const mirror = config.cluster
    ? createAlarmMirror({
        redisUrl: config.cluster.redis.url,
        keyPrefix: config.cluster.keyPrefix,
        incarnation: cluster.incarnation,
        maxClosed: MAX_CLOSED,
        log: clusterLog,
      })
    : null;
  mirror?.onEvent((event) => liveFeed.publish(event));
  const alarmView: AlarmView | undefined = mirror ? clusterAlarmView(alarms.book, mirror) : undefined;
  if (influx.url) {
    // With the store, an alarm event's point goes into the spool in the commit that records the transition: it
    // does not cross to the lane's thread and back, and a crash cannot lose it. Without, the lane's sink queues it.
    const spool = store ? createSpoolWriter(store, now) : null;
    onAlarmEvent((event) => {
      const line = spool ? alarmEventLine(event) : undefined;
      if (spool && line !== undefined) {
        spool.alarm(line);
        lane?.alarmEventsSpooled(1);
      } else lane?.writeAlarmEvent(event);
    }, true);
  }
  // Verdict changes the lane committed before a crash, not yet in the book: applied (and delivered) first.
  const recovered = alarms.recover();
  if (recovered > 0) log.warn({ changes: recovered }, 'alarm changes recovered from the store');

  const outlet: LaneOutlet = {
    ...(replica
      ? { engineChanged: (changes: EngineChanges, accepted: readonly AcceptedSeq[]) => replica.engineChanged(changes, accepted) }
      : {}),
    alarmChanges: (changes, upTo) => alarms.apply(changes, upTo),
    readingStored: deviceStatus.readingStored,
    pointsRefused: (points) => {
      for (const point of points) quarantine.add(refusedPointEntry(point, now()), Buffer.from(point.line));
    },
  };
  const setup = { config: laneConfigOf(config), influxUrl: influx.url, ...(writerGate ? { writerGate } : {}) };
  const laneFailed = (error: Error): void => {
    laneFailure = error;
    options.onFatal?.(error);
  };
  const started = watchHolds(
    config.lane.thread === 'worker'
      ? await createWorkerLane(setup, outlet, log.child({ component: 'lane' }), laneFailed)
      : await createInlineLane(setup, registry, outlet, metrics, log, laneFailed, rules),
    now,
  );
  lane = started;
  // Each site is judged by its owner: payloads of other sites go there, and the owner's verdict is the PUBACK's.
  // In a cluster: a verdict is given once what it changed is in the shared store, and only for sites taken over.
  const judging = replica ? settledFirst(started, replica) : started;
  takeover =
    config.cluster && replica
      ? createSiteTakeover({
          cluster,
          sites: () => registrySites,
          replica,
          lane: started,
          book: alarms.book,
          now,
          checkEvery: config.cluster.heartbeat,
          backoff: config.cluster.memberTimeout,
          log: clusterLog,
        })
      : null;
  const forwarder = config.cluster
    ? createReadingForwarder({
        counted: (outcome) => metrics.clusterForwarded.inc({ outcome }),
        redisUrl: config.cluster.redis.url,
        keyPrefix: config.cluster.keyPrefix,
        nodeId: config.cluster.nodeId,
        timeoutMs: config.cluster.forwardTimeout,
        log: clusterLog,
        now,
      })
    : null;
  // In a cluster a verdict also waits for the site's owner and the shared store: admission watches that wait too.
  const verdictWait = forwarder && takeover ? createVerdictWait() : null;
  const recorder = config.recording.enabled ? createRecorder(config.recording.path) : undefined;
  const ingest = createIngestService({
    recorder,
    registry,
    labMode: config.mqtt.labMode,
    lane:
      forwarder && takeover && verdictWait
        ? timingVerdicts(routeToOwners(judging, cluster, takeover.judges, forwarder), verdictWait)
        : started,
    quarantine,
    deviceStatus,
    metrics,
    log: log.child({ component: 'ingest' }),
  });

  const brokerLog = log.child({ component: 'broker' });
  const admission = createAdmission(
    { laneDelay: () => Math.max(started.delay(), verdictWait?.recent() ?? 0), holding: (count) => metrics.mqttConnectsHeld.set(count) },
    config.mqtt.admission,
  );
  const broker = await createBroker({
    shared: sharedBroker?.options,
    registry,
    verifySecret: createSecretVerifier(),
    connectedClients: () => broker.connectedClients,
    maxConnections: config.mqtt.maxConnections,
    perDevice: {
      connections: (device) => deviceStatus.get(device).connections,
      connected: (clientId) => Object.hasOwn((broker as unknown as { clients: object }).clients, clientId),
      max: config.mqtt.maxConnectionsPerDevice,
    },
    labMode: config.mqtt.labMode,
    throttle: createConnectThrottle({
      windowMs: config.mqtt.connectThrottle.window,
      maxFailuresPerAddress: config.mqtt.connectThrottle.maxFailuresPerAddress,
      maxFailuresPerDevice: config.mqtt.connectThrottle.maxFailuresPerDevice,
    }),
    admission,
    connectHolds: started,
    ingest,
    deviceStatus,
    drainTimeout: config.mqtt.drainTimeout,
    now,
    metrics,
    log: brokerLog,
  });
  if (config.mqtt.labMode.enabled) {
    brokerLog.warn({ allow: config.mqtt.labMode.allow, deny: config.mqtt.labMode.deny }, 'LAB MODE: anonymous MQTT clients are accepted');
  }
  // Devices that never send anything must still go silent: their silence rules run from start-up.
  await started.start(now());
  // the acknowledgements the book holds, told to the lane again (in a cluster the lane judges no site yet: a takeover does)
  if (!config.cluster) retellAcknowledgements(started, alarms.book.list({ state: 'open' }), now());
  const reloadRules = () => started.reloadRules(now());
  const spoolOverflow = createSpoolOverflowWatch({
    apply: (changes) => alarms.apply(changes),
    active: () => alarms.book.list({ state: 'active' }).some((alarm) => alarm.key === SPOOL_OVERFLOW.key),
  });
  const storeSize = store && { get: () => storeSizeBytes(store) };
  metrics.storeLimit.set(config.store.maxBytes ?? 0);
  /** Whether the lane's not answering was logged (once, and once more when it answers again). */
  let laneHangLogged = false;
  const watchLaneAnswers = (): void => {
    const unanswered = started.unanswered();
    metrics.laneUnanswered.set(unanswered / 1_000);
    metrics.laneDelay.set(started.delay() / 1_000);
    const hangs = unanswered >= LANE_UNANSWERED_MS;
    if (hangs === laneHangLogged) return;
    laneHangLogged = hangs;
    if (hangs) log.error({ unansweredMs: Math.round(unanswered) }, 'telemetry lane not answering');
    else log.warn('telemetry lane answering again');
  };
  const clockStep = options.now ? () => 0 : createClockSteps({ wall: now, monotonic: () => performance.now() });
  /** The clock read by the ticker: a step of it found is handed to the rules first (a test's `tick(at)` is not watched). */
  const clockRead = (): number => {
    const at = now();
    const stepped = clockStep(at);
    if (stepped !== 0) {
      // silence, delays and deadlines of the rules move with the clock; alarms keep the times they have
      log.warn({ stepMs: stepped }, 'system clock stepped');
      metrics.clockSteps.inc();
      started.clockStepped(stepped, at);
    }
    return at;
  };
  const tick = (at: number): void => {
    watchLaneAnswers();
    started.tick(at);
    alarms.tick(at);
    escalation.tick(at);
    if (storeSize) metrics.storeSize.set(storeSize.get() as number);
    accounts.pruneSessions();
    auditRetention(at);
    spoolOverflow.observe(started.sinkStatus(), at);
  };

  const handle = guardedHandle(broker, {
    limits: { maxPreAuthBytes: config.mqtt.maxPreAuthBytes, maxPacketBytes: config.mqtt.maxPacketBytes },
    metrics,
    log: brokerLog,
  });
  const listeners = await startMqttListeners(handle, config.mqtt);
  const ticker = setInterval(() => {
    if (laneFailure) return;
    try {
      tick(clockRead());
    } catch (error) {
      // a store that cannot write (alarm book, audit) or a fault in a timer: the gateway stops, said with its code
      laneFailed(fatalFailureOf(error, "the gateway's timers"));
    }
  }, config.tickInterval);
  ticker.unref();

  /** `broker closed`, or the listeners that stopped accepting connections (`not listening: ws`); null when all is well. */
  const mqttTrouble = (): string | null => {
    if (broker.closed) return 'broker closed';
    const stopped = listeners.filter((listener) => !listener.listening()).map((listener) => listener.name);
    return stopped.length > 0 ? `not listening: ${stopped.join(', ')}` : null;
  };
  const readiness = (): ReadinessCheck[] => {
    const trouble = mqttTrouble();
    const checks: ReadinessCheck[] = [{ name: 'mqtt', ready: trouble === null, reason: trouble }];
    const unanswered = started.unanswered();
    if (laneFailure) checks.push({ name: 'lane', ready: false, reason: laneFailure.message });
    else if (unanswered >= LANE_UNANSWERED_MS)
      checks.push({ name: 'lane', ready: false, reason: `not answering for ${Math.floor(unanswered / 1_000)} s` });
    const sinkStatus = started.sinkStatus();
    if (influx.url === null) checks.push({ name: 'influxdb', ready: true, reason: `disabled: ${influx.disabledReason}` });
    else if (sinkStatus) checks.push(sinkStatus);
    const hooks = webhooks.status();
    checks.push({ name: hooks.name, ready: hooks.ready, reason: hooks.reason });
    if (config.cluster) {
      const clusterTrouble = [cluster.trouble(), mirror?.trouble() ?? null].filter((p) => p !== null).join('; ') || null;
      checks.push({ name: 'cluster', ready: clusterTrouble === null, reason: clusterTrouble });
    }
    return checks;
  };

  const metricsText = async (): Promise<string> => metricsExposition(metrics.registry, await started.workerMetrics());
  // In a cluster: what a node takes itself (the sites it judges, its own alarms), answered once in the shared store.
  const takenHere: TakenHere = {
    judges: (site) => takeover?.judges(site) ?? false,
    shared: (site) => registrySites.has(site),
    settled: (site) => replica?.settled(site) ?? Promise.resolve(true),
  };
  const shelves = createShelfService({
    alarms,
    registry,
    now,
    newShelfId: () => `shf_${newId()}`,
    maxDurationMs: config.handling.shelving.maxDuration,
  });
  const http = await createHttpServer({
    tokens: config.api.tokens,
    authFailures: config.api.authFailures,
    accounts,
    audit,
    sessions: config.api.sessions,
    loginFailuresPerUser: config.api.loginFailuresPerUser,
    metricsPublic: config.api.metricsPublic,
    gatewayMetrics: metrics,
    metrics: { contentType: metrics.registry.contentType, text: metricsText },
    readiness,
    alarms,
    alarmView,
    inhibitionElsewhere: mirror ? () => mirror.inhibition((site) => takenHere.shared(site) && !takenHere.judges(site)) : undefined,
    alarmAction:
      alarmView && forwarder && takeover ? actAnywhere({ view: alarmView, alarms, here: takenHere, cluster, forwarder }) : undefined,
    shelves:
      alarmView && mirror && forwarder && takeover
        ? shelvesAnywhere({ local: shelves, alarms: alarmView, mirror, registry, here: takenHere, cluster, forwarder })
        : localShelfDesk(shelves),
    escalationOf: (id) => {
      const alarm = alarms.book.get(id);
      return alarm ? escalation.stateOf(alarm, now()) : null;
    },
    liveFeed,
    registry,
    deviceStatus,
    quarantine,
    webhooks,
    trend: influx.url ? createTrendReader(config.influx, influx.url) : null,
    trendDisabledReason: influx.disabledReason,
    reloadRules,
    trustProxy: config.http.trustProxy,
    cluster,
    log: log.child({ component: 'http' }),
  });
  const httpAddress = await http.start(config.http.host, config.http.port);
  const httpUrl = httpAddress.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  const mqttUrl = (listeners[0] as MqttListener).url;
  if (takeover) {
    await forwarder?.start(
      judgeForwarded(judging, cluster, takeover.judges, registry),
      actForwarded(alarms, takenHere, alarmView),
      shelfActionForwarded(shelves, { alarms: alarmView ?? alarms.book, shelf: (id) => shelves.get(id), registry }, takenHere),
    );
  }
  await replica?.start();
  await mirror?.start(registrySites);
  const sitesTaken = takeover;
  cluster.onOwnedSites(sitesTaken ? () => sitesTaken.reconcile() : (sites) => started.ownSites(sites, now()));
  await cluster.join({ mqtt: listeners.map((listener) => listener.url), http: httpUrl });
  // after joining: it reads what the live nodes last wrote
  await sharedDeviceStatus?.start();
  await sharedAudit?.start();
  // The write-ahead log copied into the file on a thread of its own, not inside a commit of the lane or the alarm book;
  // started last, so a start that fails leaves no thread behind (until then the writers' own checkpoint does it).
  const checkpointer = opened ? startWalCheckpointer({ file: opened.name, metrics, log: log.child({ component: 'store' }) }) : null;
  log.info(
    { mqtt: listeners.map((l) => l.url), http: httpUrl, influx: influx.url ?? `disabled (${influx.disabledReason})` },
    'gateway started',
  );

  let closing: Promise<void> | null = null;
  return {
    mqttUrl,
    httpUrl,
    listeners,
    influx: { url: influx.url, disabledReason: influx.disabledReason },
    broker,
    alarms,
    liveFeed,
    webhooks,
    lane: started,
    quarantine,
    registry,
    metrics,
    accounts,
    audit,
    http,
    cluster,
    readiness,
    metricsText,
    tick,
    // Outside the API (SIGHUP): recorded as the system's.
    async reloadRules() {
      const result = await reloadRules();
      audit.record({
        ...systemAudit,
        actor: 'system',
        action: 'rules.reload',
        outcome: result.ok ? 'ok' : 'rules_invalid',
        detail: result.ok ? { files: result.files, changedAlarms: result.changedAlarms } : { problems: result.problems.length },
      });
      return result;
    },
    async settle(timeoutMs = 10_000) {
      await started.drain();
      await webhooks.idle(timeoutMs);
    },
    close() {
      closing ??= (async () => {
        log.info('gateway stopping');
        clearInterval(ticker);
        // Leaving first: the other nodes take this node's sites at once rather than after memberTimeout.
        await cluster.leave();
        takeover?.close();
        forwarder?.close();
        await http.close();
        // Stop accepting first; the listeners finish closing once the broker has disconnected every client.
        const listenersClosed = Promise.all(listeners.map((listener) => listener.close()));
        admission.close();
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await listenersClosed;
        sharedBroker?.close();
        await started.close();
        replica?.close();
        mirror?.close();
        sharedDeviceStatus?.close();
        sharedAudit?.close();
        await webhooks.close();
        await checkpointer?.stop();
        store?.close();
        if (accountsDb !== store) accountsDb.close();
        await recorder?.close();
        await influx.local?.stop();
        log.info('gateway stopped');
      })();
      return closing;
    },
  };
}
