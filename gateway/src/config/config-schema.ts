import { compile as compileProxyAddresses } from '@fastify/proxy-addr';
import { z } from 'zod';
import { alarmEventTypeSchema, durationSchema } from '../../../rules/src/index.js';
import { roleSchema } from '../accounts/roles.js';
import { userNameSchema } from '../accounts/user-name.js';
import { clusterSchema } from './cluster-schema.js';
import { escalationProblems, escalationSchema } from './escalation-schema.js';
import { quarantineSchema } from './quarantine-schema.js';

const port = z.number().int().min(0).max(65_535);
/** pino's levels, and `silent`: `logLevel` in the file, or the LOG_LEVEL environment variable. */
export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const idPattern = /^[A-Za-z0-9_-]{1,64}$/;
export const siteOrDeviceId = z.string().regex(idPattern, 'expected 1–64 characters of A-Z a-z 0-9 _ -');

const tcpListener = z.object({ host: z.string().default('0.0.0.0'), port: port.default(1883) }).strict();
const tlsListener = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: port.default(8883),
    cert: z.string().min(1),
    key: z.string().min(1),
    ca: z.string().optional(),
  })
  .strict();
const wsListener = z.object({ host: z.string().default('0.0.0.0'), port: port.default(8083), path: z.string().default('/mqtt') }).strict();

const labMode = z
  .object({
    enabled: z.boolean().default(false),
    /** MQTT topic filters anonymous clients may publish and subscribe to. */
    allow: z.array(z.string()).default(['lab/#']),
    /** Filters refused even when allowed. */
    deny: z.array(z.string()).default([]),
  })
  .strict();

const mqtt = z
  .object({
    tcp: tcpListener.default({ host: '0.0.0.0', port: 1883 }),
    tls: tlsListener.optional(),
    ws: wsListener.optional(),
    maxPayloadBytes: z
      .number()
      .int()
      .positive()
      .default(256 * 1024),
    /** The largest MQTT packet a connection may send; a larger one closes the connection before it is buffered. */
    maxPacketBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** What a connection may send before its CONNECT is accepted; more closes it (a CONNECT is a few hundred bytes). */
    maxPreAuthBytes: z
      .number()
      .int()
      .positive()
      .default(64 * 1024),
    /** Failed logins per source address and per device id within `window`; past them, CONNECT gets CONNACK 3 until it ends. */
    connectThrottle: z
      .object({
        window: durationSchema.default(60_000),
        maxFailuresPerAddress: z.number().int().positive().default(60),
        maxFailuresPerDevice: z.number().int().positive().default(10),
      })
      .strict()
      .default({ window: 60_000, maxFailuresPerAddress: 60, maxFailuresPerDevice: 10 }),
    maxConnections: z.number().int().positive().default(50_000),
    /** Open connections one device may hold (its ClientId and `{id}:{suffix}` ones); more get CONNACK 3. */
    maxConnectionsPerDevice: z.number().int().positive().default(4),
    /**
     * While the telemetry lane is behind (a publish would wait `maxLaneWait` or more for its verdict), devices with
     * good credentials wait for their CONNACK and are let in as the lane catches up; one held `maxHold` gets
     * CONNACK 3 and retries. Keeps the PUBACKs of the devices already connected prompt in a reconnect storm.
     */
    admission: z
      .object({
        maxLaneWait: durationSchema.refine((ms) => ms > 0, 'more than 0 (0 would hold every CONNECT)').default(500),
        maxHold: durationSchema.refine((ms) => ms >= 1_000 && ms <= 60_000, 'between 1s and 60s').default(10_000),
      })
      .strict()
      .default({ maxLaneWait: 500, maxHold: 10_000 }),
    /** A slow subscriber is disconnected after this long rather than stalling delivery (aedes drainTimeout). */
    drainTimeout: durationSchema.default(10_000),
    /**
     * TCP keepalive on every device connection: the first probe after this long without traffic (then the system's
     * interval and count: 75 s and 9 on Linux). Finds a link that died without a FIN — a cut cable, a NAT that forgot
     * the flow — for a client whose MQTT keepalive is 0 (which turns MQTT's own check off); 0 turns it off.
     */
    tcpKeepalive: durationSchema.default(60_000),
    labMode: labMode.default({ enabled: false, allow: ['lab/#'], deny: [] }),
  })
  .strict();

/** Contract §2: how far a device time may be from the gateway's clock before it is refused. */
const ingest = z
  .object({
    /** Further ahead: `future_timestamp`. */
    maxClockAhead: durationSchema.default(5 * 60_000),
    /** Further behind: `past_timestamp` (a backlog older than this is refused, not stored silently wrong). */
    maxAge: durationSchema.default(90 * 86_400_000),
  })
  .strict();

/**
 * The local store in `dataDir` (SQLite): the alarm book with every transition, the rule engine's state, the
 * InfluxDB spool, the de-duplication window and the webhook outbox with its dead letters, durable across restarts.
 */
const store = z
  .object({
    /** Off: points and webhook deliveries wait in memory (bounded by influx.maxQueuedPoints, webhooks[].maxQueued) and a restart forgets them. */
    enabled: z.boolean().default(true),
    /** `normal` survives a crash of the gateway; `full` also a power cut (an fsync per commit). */
    synchronous: z.enum(['normal', 'full']).default('normal'),
    /**
     * The most the store file may grow to, bytes (none: the disk's room). The spool keeps the store within nine
     * tenths of it, dropping its oldest telemetry (counted, `spool_dropped_points`); should the rest still outgrow it
     * (the alarm book, alarm events waiting for InfluxDB), the commit that needs room fails: nothing is acknowledged,
     * the gateway stops with `store_unavailable` ("database or disk is full") for its supervisor — as on a full disk.
     */
    maxBytes: z.number().int().min(1_000_000).optional(),
    /**
     * Bytes the spool leaves free on the data directory's disk: below it the oldest waiting telemetry is dropped
     * (counted) for the new, rather than the disk filling and the gateway stopping.
     */
    diskReserve: z
      .number()
      .int()
      .nonnegative()
      .default(100 * 1024 * 1024),
    spool: z
      .object({
        /** Points the spool holds at most; past it the oldest telemetry is dropped (never alarm events), counted. */
        maxPoints: z.number().int().positive().default(5_000_000),
        /** Telemetry waiting longer than this is dropped, counted. */
        maxAge: durationSchema.default(7 * 86_400_000),
      })
      .strict()
      .default({ maxPoints: 5_000_000, maxAge: 7 * 86_400_000 }),
    alarms: z
      .object({
        /** Resolved alarms and their transition history are kept this long (a record for audits), then removed. */
        retention: durationSchema.default(400 * 86_400_000),
      })
      .strict()
      .default({ retention: 400 * 86_400_000 }),
    deadLetters: z
      .object({
        /** Webhook dead letters kept per subscriber (in memory too with the store off); past it the subscriber's oldest are forgotten. */
        max: z.number().int().positive().default(1_000),
      })
      .strict()
      .default({ max: 1_000 }),
    audit: z
      .object({
        /** Audit log entries are kept this long, then removed (checked hourly). */
        retention: durationSchema.default(400 * 86_400_000),
      })
      .strict()
      .default({ retention: 400 * 86_400_000 }),
  })
  .strict();

const timeZone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'an IANA time zone, e.g. Asia/Shanghai' },
);
const wallTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a wall-clock time HH:MM, e.g. 23:59');

/** How alarms are handled: the same-day deadline of the plans (an alarm disposed of the day it was raised). */
const handling = z
  .object({
    /**
     * A resolve must carry its disposal record (cause, measures, responsible): the plans' closed loop. Off by default
     * so that contract §6 clients resolving with `{ by, note }` keep working; a plant turns it on.
     */
    requireDisposal: z.boolean().default(false),
    /** Shelving and maintenance windows (搁置 / 检修窗口): the longest window anyone may declare. */
    shelving: z
      .object({ maxDuration: durationSchema.default(7 * 86_400_000) })
      .strict()
      .default({ maxDuration: 7 * 86_400_000 }),
    deadline: z
      .object({
        /** Off: no deadline, no `alarm.overdue`. */
        enabled: z.boolean().default(true),
        timeZone: timeZone.default('Asia/Shanghai'),
        /** An alarm still unresolved at this wall-clock time of the day it was raised goes `alarm.overdue`. */
        at: wallTime.default('23:59'),
        /** Per site: its own time zone or deadline time. */
        sites: z.record(z.string(), z.object({ timeZone: timeZone.optional(), at: wallTime.optional() }).strict()).default({}),
      })
      .strict()
      .default({ enabled: true, timeZone: 'Asia/Shanghai', at: '23:59', sites: {} }),
    /**
     * Escalation when nobody acts (催办): per policy, the alarms it is for and steps that notify more subscribers
     * and users while an alarm waits to be acknowledged, assigned or resolved, or once it is overdue
     * (gateway/src/config/escalation-schema.ts). The first policy that matches an alarm is its policy.
     */
    escalation: escalationSchema,
  })
  .strict();

const PROXY_ADDRESS_MESSAGE = 'an IP address, a range (10.0.0.0/8, 10.0.0.0/255.0.0.0) or one of loopback, linklocal, uniquelocal';
/** What fastify's trustProxy takes, asked of the library it hands the list to (@fastify/proxy-addr): not a copy of its rules. */
const proxyAddress = z.string().superRefine((entry, ctx) => {
  try {
    compileProxyAddresses([entry]);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${(error as Error).message}: ${PROXY_ADDRESS_MESSAGE}` });
  }
});

const http = z
  .object({
    host: z.string().default('0.0.0.0'),
    port: port.default(8080),
    /**
     * Behind a reverse proxy or load balancer: the addresses (IPs or CIDR ranges) whose `X-Forwarded-For` is
     * believed, so that the client's own address is what the per-address limits count and the audit log records.
     * Off by default: a client could otherwise claim any address.
     */
    trustProxy: z.array(proxyAddress).default([]),
  })
  .strict();

const influx = z
  .object({
    /** `url`: write to that server; `auto`: start a local influxd if installed, else run without; `off`. */
    mode: z.enum(['url', 'auto', 'off']).default('url'),
    /** The server's write API: 1 (`/write`, database and retention policy) or 2 (`/api/v2/write`, org, bucket and token). */
    version: z.literal([1, 2]).default(1),
    url: z.string().url().default('http://127.0.0.1:8086'),
    /** 1.x: the database, created when missing. */
    database: z.string().min(1).default('risk'),
    username: z.string().optional(),
    password: z.string().optional(),
    /** 2.x: organisation (name), bucket and API token (write access to the bucket; `${INFLUX_TOKEN}` keeps it out of the file). */
    org: z.string().min(1).optional(),
    bucket: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    batchSize: z.number().int().positive().default(5_000),
    flushInterval: durationSchema.default(500),
    maxQueuedPoints: z.number().int().positive().default(200_000),
    /** Batches written at once while a backlog waits (after an outage); 1 writes strictly one at a time. */
    maxInFlight: z.number().int().min(1).max(8).default(2),
    /** How long InfluxDB keeps points: a duration (at least 1h) makes the gateway's retention policy the database's default; `inf` keeps them. */
    retention: z
      .union([z.literal('inf'), durationSchema.refine((ms) => ms >= 3_600_000, "at least 1h (InfluxDB's minimum)")])
      .default('inf'),
    requestTimeout: durationSchema.default(10_000),
  })
  .strict()
  .superRefine((influx, ctx) => {
    const problem = (key: string, message: string): void => ctx.addIssue({ code: 'custom', path: [key], message });
    if (influx.version === 1) {
      for (const key of ['org', 'bucket', 'token'] as const)
        if (influx[key] !== undefined) problem(key, 'only for influx.version 2 (1.x writes to influx.database)');
      return;
    }
    for (const key of ['org', 'bucket', 'token'] as const) if (influx[key] === undefined) problem(key, 'required with influx.version 2');
    for (const key of ['username', 'password'] as const)
      if (influx[key] !== undefined) problem(key, 'only for influx.version 1 (2.x authenticates with influx.token)');
    if (influx.mode === 'auto') problem('mode', 'auto starts a local InfluxDB 1.x; with influx.version 2 use mode url (or off)');
    if (influx.retention !== 'inf')
      problem('retention', "only for influx.version 1; a 2.x bucket's retention is set on the server (influx bucket update --retention)");
  });

const webhookFilter = z
  .object({
    sites: z.array(z.string()).optional(),
    severities: z.array(z.enum(['blue', 'yellow', 'orange', 'red'])).optional(),
    types: z.array(alarmEventTypeSchema).optional(),
  })
  .strict();

/** A query parameter of `url`, or undefined (also when `url` is not a URL: its own check says so). */
const queryParam = (url: string, name: string): string | null | undefined => {
  try {
    return new URL(url).searchParams.get(name);
  } catch {
    return undefined;
  }
};

const webhookSubscriber = z
  .object({
    id: z.string().regex(idPattern),
    /**
     * `standard`: the event, signed per Standard Webhooks (contract §5); `wecom`: a 企业微信 group robot; `dingtalk`:
     * a 钉钉 custom robot — both get a markdown message about the alarm (gateway/src/sinks/webhook/kinds/).
     */
    kind: z.enum(['standard', 'wecom', 'dingtalk']).default('standard'),
    /** standard: the receiver; wecom: the robot's webhook with `?key=…`; dingtalk: its webhook with `?access_token=…`. */
    url: z.string().url(),
    /** standard: one or more `whsec_…` secrets; every one signs during key rotation. */
    secrets: z
      .array(z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'expected whsec_ followed by base64'))
      .min(1)
      .optional(),
    /** dingtalk: the robot's 加签 secret (`SEC…`, best from `${ENV}`); each attempt's timestamp and sign go in its url. */
    secret: z.string().min(1).optional(),
    /** wecom, dingtalk: the console's address; the message links to the alarm (`{consoleUrl}/#/alarms/{id}`). */
    consoleUrl: z.string().url().optional(),
    /** wecom, dingtalk: the message's language — Chinese (`messageZh`) or English (`message`). */
    language: z.enum(['zh', 'en']).default('zh'),
    /** Attempts started per minute at most, the rest wait their turn; wecom and dingtalk: 20 (the services' limit per robot). */
    maxPerMinute: z.number().int().min(1).max(6_000).optional(),
    /** wecom, dingtalk: the wait after the service's rate-limit answer (default wecom 1m, dingtalk 10m: its penalty). */
    rateLimitDelay: durationSchema.optional(),
    filter: webhookFilter.default({}),
    timeout: durationSchema.default(5_000),
    /** Attempts of one event before it is dead-lettered: by default waits adding up to 54–109 min (a receiver's maintenance). */
    maxAttempts: z.number().int().min(1).max(50).default(30),
    maxQueued: z.number().int().positive().default(10_000),
    /** First retry delay; doubles per attempt (with jitter) up to `retryMaxDelay`. */
    retryBaseDelay: durationSchema.default(1_000),
    retryMaxDelay: durationSchema.default(300_000),
    /** Deliveries in flight at once; events of one alarm are always sent one at a time, in seq order. */
    concurrency: z.number().int().min(1).max(64).default(4),
  })
  .strict()
  .superRefine((subscriber, ctx) => {
    const problem = (key: string, message: string): void => ctx.addIssue({ code: 'custom', path: [key], message });
    const only = (key: 'secrets' | 'secret' | 'consoleUrl' | 'rateLimitDelay', kinds: string): void => {
      if (subscriber[key] !== undefined) problem(key, `only for kind ${kinds} (this one is ${subscriber.kind})`);
    };
    if (subscriber.kind === 'standard') {
      if (subscriber.secrets === undefined) problem('secrets', 'required: one or more whsec_ secrets sign every delivery');
      for (const key of ['secret', 'consoleUrl', 'rateLimitDelay'] as const) only(key, 'wecom or dingtalk');
      return;
    }
    only('secrets', 'standard');
    if (subscriber.kind === 'wecom') {
      only('secret', 'dingtalk');
      if (queryParam(subscriber.url, 'key') === null)
        problem('url', "a WeCom robot's webhook carries its key: …/cgi-bin/webhook/send?key=…");
    } else if (queryParam(subscriber.url, 'access_token') === null)
      problem('url', "a DingTalk robot's webhook carries its token: …/robot/send?access_token=…");
  });

export const deviceSchema = z
  .object({
    id: siteOrDeviceId,
    site: siteOrDeviceId,
    profile: z.string().min(1),
    /** `sha256$<salt b64>$<hash b64>` or `scrypt$…`, from `npm run hash-secret`. */
    secretHash: z
      .string()
      .regex(/^(sha256|scrypt)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'expected sha256$<salt>$<hash> or scrypt$… (npm run hash-secret)'),
    name: z.string().optional(),
    attributes: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
  })
  .strict();

const tokenSchema = z
  .object({
    name: z.string().min(1),
    role: roleSchema,
    token: z.string().min(16, 'API tokens must be at least 16 characters').optional(),
    /** The token as `sha256$<salt b64>$<hash b64>` (`npm run hash-secret -- <token>`), so the file holds no usable token. */
    tokenHash: z
      .string()
      .regex(/^sha256\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'expected sha256$<salt>$<hash> (npm run hash-secret -- <token>)')
      .optional(),
  })
  .strict()
  .refine((token) => (token.token === undefined) !== (token.tokenHash === undefined), {
    message: 'give exactly one of token and tokenHash',
  });

/** A named user of the config file: logs in to the console and owns personal tokens; changed only in the file. */
const userSchema = z
  .object({
    name: userNameSchema,
    role: roleSchema,
    /** `scrypt$<salt b64>$<hash b64>`, from `npm run hash-secret -- --scheme scrypt` (the password on stdin). */
    passwordHash: z
      .string()
      .regex(/^scrypt\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'expected scrypt$<salt>$<hash> (npm run hash-secret -- --scheme scrypt)'),
  })
  .strict();

/** Console sessions: a cookie that ends `ttl` after login or `idleTimeout` after the last request, whichever is first. */
const sessions = z
  .object({
    ttl: durationSchema.default(12 * 3_600_000),
    idleTimeout: durationSchema.default(3_600_000),
    /** Mark the cookie `Secure` (sent over HTTPS only): on when the console is served through a TLS proxy. */
    secureCookie: z.boolean().default(false),
  })
  .strict();

/** Failed authentications (a token that matches none) allowed per source address and window before 429. */
const authFailures = z.object({ max: z.number().int().positive().default(20), window: durationSchema.default(60_000) }).strict();

/**
 * The telemetry lane (validation, rules, InfluxDB writes): `worker`, a worker thread beside the broker's event
 * loop (uses a second core), or `main`, the broker's own event loop.
 */
const laneSchema = z.object({ thread: z.enum(['worker', 'main']).default('worker') }).strict();

export const configSchema = z
  .object({
    mqtt: mqtt.default(mqtt.parse({})),
    ingest: ingest.default(ingest.parse({})),
    http: http.default({ host: '0.0.0.0', port: 8080, trustProxy: [] }),
    influx: influx.default(influx.parse({})),
    webhooks: z.array(webhookSubscriber).default([]),
    devices: z.array(deviceSchema).default([]),
    /**
     * More of the device registry: YAML files with a `devices:` list (e.g. from `npm run simulate -- fleet --registry`)
     * and nothing else but their own `deviceFiles`; paths relative to the working directory.
     */
    deviceFiles: z.array(z.string()).default([]),
    /** Extra rule files (YAML), applied after each profile's defaults. */
    rules: z.array(z.string()).default([]),
    dataDir: z.string().default('./data'),
    store: store.default(store.parse({})),
    handling: handling.default(handling.parse({})),
    api: z
      .object({
        tokens: z.array(tokenSchema).default([]),
        metricsPublic: z.boolean().default(true),
        authFailures: authFailures.default({ max: 20, window: 60_000 }),
        /** Named users of the file; more are created over the API (`POST /api/users`) and kept in the store. */
        users: z.array(userSchema).default([]),
        sessions: sessions.default(sessions.parse({})),
        /** Failed logins allowed per user name and window (besides `authFailures` per address) before 429. */
        loginFailuresPerUser: z.number().int().positive().default(10),
      })
      .strict()
      .default({
        tokens: [],
        metricsPublic: true,
        authFailures: { max: 20, window: 60_000 },
        users: [],
        sessions: sessions.parse({}),
        loginFailuresPerUser: 10,
      }),
    /** Refused payloads kept for operators, in all and per device (quarantine-schema.ts). */
    quarantine: quarantineSchema.default(quarantineSchema.parse({})),
    liveFeed: z
      .object({ ringSize: z.number().int().positive().default(10_000) })
      .strict()
      .default({ ringSize: 10_000 }),
    /** Record every device PUBLISH as NDJSON for `npm run backtest` (off by default). */
    recording: z
      .object({ enabled: z.boolean().default(false), path: z.string().default('./data/recording.ndjson') })
      .strict()
      .default({ enabled: false, path: './data/recording.ndjson' }),
    /** Where telemetry is validated, evaluated by the rules and written to InfluxDB (laneSchema). */
    lane: laneSchema.optional(),
    /** The old name of `lane`, still read (a file gives one of the two). */
    pipeline: laneSchema.optional(),
    /** Several nodes as one, on Redis (cluster-schema.ts); absent: a single node. */
    cluster: clusterSchema.optional(),
    /** Rule timers are checked this often. */
    tickInterval: durationSchema.default(250),
    logLevel: logLevelSchema.default('info'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.mqtt.maxPacketBytes < config.mqtt.maxPayloadBytes)
      ctx.addIssue({
        code: 'custom',
        path: ['mqtt', 'maxPacketBytes'],
        message: `must be at least mqtt.maxPayloadBytes (${config.mqtt.maxPayloadBytes}), or payloads within that limit could not arrive`,
      });
    const seen = new Set<string>();
    config.devices.forEach((device, index) => {
      if (seen.has(device.id))
        ctx.addIssue({ code: 'custom', path: ['devices', index, 'id'], message: `duplicate device id "${device.id}"` });
      seen.add(device.id);
    });
    const users = new Set<string>();
    config.api.users.forEach((user, index) => {
      if (users.has(user.name))
        ctx.addIssue({ code: 'custom', path: ['api', 'users', index, 'name'], message: `duplicate user "${user.name}"` });
      users.add(user.name);
    });
    const subscriberIds = config.webhooks.map((subscriber) => subscriber.id);
    // one id, one outbox: a copied block with its id unchanged would leave one receiver with nothing, unsaid
    subscriberIds.forEach((id, index) => {
      if (subscriberIds.indexOf(id) !== index)
        ctx.addIssue({ code: 'custom', path: ['webhooks', index, 'id'], message: `duplicate webhook subscriber id "${id}"` });
    });
    for (const problem of escalationProblems(config.handling.escalation, subscriberIds, config.handling.deadline.enabled))
      ctx.addIssue({ code: 'custom', ...problem });
    const tokens = new Set<string>();
    config.api.tokens.forEach((token, index) => {
      if (token.token === undefined) return;
      if (tokens.has(token.token)) ctx.addIssue({ code: 'custom', path: ['api', 'tokens', index, 'token'], message: 'duplicate token' });
      tokens.add(token.token);
    });
    if (config.lane && config.pipeline)
      ctx.addIssue({ code: 'custom', path: ['pipeline'], message: 'the old name of lane: give lane only' });
  })
  .transform(({ pipeline, lane, ...config }) => ({ ...config, lane: lane ?? pipeline ?? { thread: 'worker' as const } }));

export type GatewayConfig = z.infer<typeof configSchema>;
export type DeviceConfig = z.infer<typeof deviceSchema>;
export type WebhookSubscriberConfig = z.infer<typeof webhookSubscriber>;
export type ApiToken = z.infer<typeof tokenSchema>;
export type Role = ApiToken['role'];
export type UserConfig = z.infer<typeof userSchema>;
