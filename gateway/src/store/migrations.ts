import type Database from 'better-sqlite3';

/**
 * The store's schema, one step per version (`PRAGMA user_version`). Steps are only ever appended: a store
 * written by an older gateway is upgraded in place; one written by a newer gateway is refused.
 */
const STEPS: readonly string[] = [
  // 1: the InfluxDB spool (points waiting to be written) and the per-device de-duplication window.
  `CREATE TABLE spool (
     id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the sink's cursor relies on ids only growing
     kind INTEGER NOT NULL,          -- 0 alarm event, 1 telemetry
     at INTEGER NOT NULL,            -- when it was spooled (ms), for the age bound
     line TEXT NOT NULL
   );
   CREATE INDEX spool_kind_id ON spool (kind, id);
   CREATE TABLE seen_seq (
     device TEXT NOT NULL,
     seq INTEGER NOT NULL,
     ts INTEGER,                     -- the device time it came with; NULL when it had none
     PRIMARY KEY (device, seq)       -- rowid order is the order they were seen (the window forgets the oldest)
   );`,
  // 2: the webhook outbox (deliveries waiting, with their retry schedule) and the dead letters.
  `CREATE TABLE webhook_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,  -- enqueue order: an alarm's events go out in this order
     subscriber TEXT NOT NULL,
     body TEXT NOT NULL,             -- the event as first serialised, sent byte for byte on every attempt
     attempts INTEGER NOT NULL DEFAULT 0,
     not_before INTEGER NOT NULL DEFAULT 0,  -- ms since the epoch
     last_error TEXT
   );
   CREATE INDEX webhook_outbox_subscriber ON webhook_outbox (subscriber, id);
   CREATE TABLE webhook_dead_letter (
     rank INTEGER PRIMARY KEY AUTOINCREMENT,  -- oldest first; the bound forgets the oldest
     id TEXT NOT NULL UNIQUE,
     subscriber TEXT NOT NULL,
     body TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     reason TEXT NOT NULL,
     last_error TEXT NOT NULL,
     dead_at TEXT NOT NULL
   );`,
  // 3: the rule engine's state (per device and per site, saved in the commit of the readings that moved it), the
  // verdict changes the lane committed and the alarm book has not yet taken, and the alarm book itself.
  `CREATE TABLE engine_device (key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE engine_site (site TEXT PRIMARY KEY, groups TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE engine_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;  -- alive_at: last commit (ms)
   CREATE TABLE alarm_inbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order the lane decided them in
     change TEXT NOT NULL
   );
   CREATE TABLE alarm (
     id TEXT PRIMARY KEY,
     key TEXT NOT NULL,
     resolved_at INTEGER,            -- ms; NULL while open
     body TEXT NOT NULL              -- the alarm as its last event showed it
   ) WITHOUT ROWID;
   CREATE INDEX alarm_resolved ON alarm (resolved_at);
   CREATE TABLE alarm_transition (
     alarm_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     step TEXT NOT NULL,             -- type, at, by, note and the alarm after the step
     PRIMARY KEY (alarm_id, seq)
   ) WITHOUT ROWID;
   CREATE TABLE alarm_flap (key TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;`,
  // 4: webhook subscribers disabled by 410 Gone (a row while disabled): they stay disabled across restarts until an
  // operator re-enables them, or the configured url is no longer the one that answered 410.
  `CREATE TABLE webhook_subscriber_disabled (
     subscriber TEXT PRIMARY KEY,
     url TEXT NOT NULL,              -- the url that answered 410
     reason TEXT NOT NULL,
     disabled_at INTEGER NOT NULL    -- ms since the epoch
   ) WITHOUT ROWID;`,
  // 5: the quarantine: the last quarantine.size refused payloads (their previews), so that a restart keeps them.
  `CREATE TABLE quarantine (
     rank INTEGER PRIMARY KEY AUTOINCREMENT,  -- oldest first; the bound forgets the oldest
     entry TEXT NOT NULL             -- the entry as GET /api/quarantine shows it
   );`,
  // 6: the event beside the body, for subscribers whose body is a message rendered from it (WeCom, DingTalk group
  // robots); NULL where the body is the event itself (Standard Webhooks, and every row written before).
  `ALTER TABLE webhook_outbox ADD COLUMN event TEXT;
   ALTER TABLE webhook_dead_letter ADD COLUMN event TEXT;`,
  // 7: named users created over the API, their console sessions and personal API tokens (only hashes of the session
  // ids and tokens), and the audit log of operator actions, logins and user, token and rule changes.
  `CREATE TABLE app_user (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     password_hash TEXT NOT NULL,    -- scrypt$<salt>$<hash>
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE user_session (
     id_hash TEXT PRIMARY KEY,       -- SHA-256 of the cookie's value: the file holds no usable session
     user_name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX user_session_user ON user_session (user_name);
   CREATE TABLE user_token (
     id TEXT PRIMARY KEY,
     user_name TEXT NOT NULL,
     label TEXT NOT NULL,
     role TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,  -- SHA-256 of the token, which was shown once at creation
     prefix TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER
   ) WITHOUT ROWID;
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,            -- ms since the epoch
     actor TEXT NOT NULL,
     actor_kind TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT,
     outcome TEXT NOT NULL,
     note TEXT,
     by TEXT,
     address TEXT,
     detail TEXT                     -- JSON
   );
   CREATE INDEX audit_at ON audit (at);
   CREATE INDEX audit_target ON audit (target);`,
  // 8: the webhook delivery log: each event a receiver took, after how many attempts, when (the last N of all).
  `CREATE TABLE webhook_delivery (
     rank INTEGER PRIMARY KEY AUTOINCREMENT,
     subscriber TEXT NOT NULL,
     event_id TEXT NOT NULL,         -- the webhook-id
     type TEXT NOT NULL,
     alarm_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     delivered_at TEXT NOT NULL
   );
   CREATE INDEX webhook_delivery_subscriber ON webhook_delivery (subscriber, rank);`,
  // 9: shelves and maintenance windows (on, to come, and ended), and the alarm book's inhibition state (the active
  // inhibitors, the latent changes they hold, the recent inhibited changes) as one record.
  `CREATE TABLE alarm_shelf (
     id TEXT PRIMARY KEY,
     ended_at INTEGER,               -- ms; NULL while on or still to come
     body TEXT NOT NULL              -- the shelf as GET /api/shelves shows it
   ) WITHOUT ROWID;
   CREATE INDEX alarm_shelf_ended ON alarm_shelf (ended_at);
   CREATE TABLE alarm_inhibition (name TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;`,
  // 10: the rule state's journal. A device's saved state may lag its readings: the readings (and holds) it took since
  // are in engine_journal, after the entry its row names (journal_at), and are replayed at start. engine_device states
  // may also hold a rule's state as its changes from the initial state (engine snapshot version 5): a gateway of
  // schema 9 would read them as states, so it must refuse the file.
  `ALTER TABLE engine_device ADD COLUMN journal_at INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE engine_journal (id INTEGER PRIMARY KEY, entry TEXT NOT NULL);`,
  // 11: the de-duplication window without a rowid: one B-tree keyed by device and seq (seen_seq had a table and its
  // primary-key index to write for every insert and delete), `n` the order accepted per device (its rowid was).
  `CREATE TABLE seq_seen (
     device TEXT NOT NULL,
     seq INTEGER NOT NULL,
     n INTEGER NOT NULL,             -- the device's count of accepted seq when this one came: the order at load
     ts INTEGER,                     -- the device time it came with; NULL when it had none
     PRIMARY KEY (device, seq)
   ) WITHOUT ROWID;
   INSERT INTO seq_seen (device, seq, n, ts)
     SELECT device, seq, row_number() OVER (PARTITION BY device ORDER BY rowid) - 1, ts FROM seen_seq;
   DROP TABLE seen_seq;`,
  // 12: a spool row may hold several points: `line` is `n` lines of line protocol joined by '\n' (the telemetry a lane
  // commit spooled, written, read and deleted as one row instead of a row per reading). A gateway of schema 11 would
  // hand such a row to InfluxDB as one point, so it must refuse the file.
  `ALTER TABLE spool ADD COLUMN n INTEGER NOT NULL DEFAULT 1;`,
  // 13: the de-duplication window's log: what each lane commit accepted, for every device at once (device, seq, ts, n
  // for each, one JSON array), folded into seq_seen device by device later. A gateway of schema 12 would not read the
  // log and let its readings through again, so it must refuse the file. From this schema on, the rule state's journal
  // (engine_journal) keeps its entries' readings as arrays (journal-text.ts), and a lane commit's entries in one row
  // (from id to last), which a gateway of schema 12 would not read. The spool's telemetry moves to spool_telemetry
  // (`spool` keeps the alarm events), which a gateway of schema 12 would not send.
  `CREATE TABLE seq_log (id INTEGER PRIMARY KEY, entries TEXT NOT NULL);
   ALTER TABLE engine_journal ADD COLUMN last INTEGER;     -- the row's last entry (NULL: one entry, the row's id)
   CREATE TABLE spool_telemetry (
     id INTEGER PRIMARY KEY,         -- given by the telemetry lane, its only writer: no AUTOINCREMENT counter to write;
                                     -- after a restart they go on from max(id) (the sink's cursor starts afresh then)
     at INTEGER NOT NULL,
     line TEXT NOT NULL,
     n INTEGER NOT NULL DEFAULT 1
   );
   INSERT INTO spool_telemetry (id, at, line, n) SELECT id, at, line, n FROM spool WHERE kind = 1;
   DELETE FROM spool WHERE kind = 1;
   DROP INDEX spool_kind_id;`,
  // 14: the alarm book's inhibition state as rows (an inhibitor, a held change, an inhibited change each), written as
  // they change: schema 9's one record was written whole at every step that changed any of it, so a fleet back after
  // an outage (thousands of inhibitors ending one reading at a time) wrote it thousands of times. \`ord\` keeps the
  // order they were first set in (the first inhibitor that covers a change holds it); a held change's \`metric\` is JSON,
  // NULL where an older gateway did not record it. A gateway of schema 13 would not read the rows, so it must refuse
  // the file.
  `CREATE TABLE alarm_inhibitor (ord INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
   CREATE TABLE alarm_held (ord INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, metric TEXT, change TEXT NOT NULL);
   CREATE TABLE alarm_inhibited (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
   INSERT INTO alarm_inhibitor (ord, key, body)
     SELECT i.key, json_extract(i.value, '$.key'), i.value
     FROM alarm_inhibition b, json_each(b.state, '$.inhibitors') i WHERE b.name = 'book';
   CREATE TEMP TABLE held_metric (key TEXT PRIMARY KEY, metric TEXT);
   INSERT OR REPLACE INTO held_metric (key, metric)
     SELECT json_extract(m.value, '$[0]'), json_quote(json_extract(m.value, '$[1]'))
     FROM alarm_inhibition b, json_each(b.state, '$.heldMetrics') m WHERE b.name = 'book';
   INSERT INTO alarm_held (ord, key, metric, change)
     SELECT l.key, json_extract(l.value, '$[0]'), hm.metric, json_extract(l.value, '$[1]')
     FROM alarm_inhibition b, json_each(b.state, '$.latent') l
     LEFT JOIN held_metric hm ON hm.key = json_extract(l.value, '$[0]')
     WHERE b.name = 'book';
   DROP TABLE held_metric;
   INSERT INTO alarm_inhibited (id, body)
     SELECT r.key + 1, r.value FROM alarm_inhibition b, json_each(b.state, '$.recent') r WHERE b.name = 'book';
   DROP TABLE alarm_inhibition;`,
  // 15: dead letters are bounded per subscriber (store.deadLetters.max each): its oldest found by subscriber.
  `CREATE INDEX webhook_dead_letter_subscriber ON webhook_dead_letter (subscriber, rank);`,
  // 16: the config file's users as the last start saw them (a SHA-256 of each one's password hash): a user whose hash
  // changed in the file, or who left it, has their sessions and personal tokens ended at the next start.
  `CREATE TABLE config_user_seen (name TEXT PRIMARY KEY, password_fp TEXT NOT NULL) WITHOUT ROWID;`,
  // 17: a webhook subscriber's pacing: the hold a receiver asked for (429/503 Retry-After, a robot's rate-limit
  // errcode) and when its last attempts started (a robot's messages a minute), so that a restart keeps to them.
  `CREATE TABLE webhook_subscriber_pacing (
     subscriber TEXT PRIMARY KEY,
     hold_until INTEGER NOT NULL,    -- ms since the epoch; no attempt before it
     started TEXT NOT NULL           -- JSON: the start times (ms) of the attempts of the last minute
   ) WITHOUT ROWID;`,
];

export const SCHEMA_VERSION = STEPS.length;

/**
 * Brings the store up to SCHEMA_VERSION in one IMMEDIATE transaction: the version is read under the write
 * lock, so two threads (the broker side and the telemetry lane) opening a new file at once cannot both migrate.
 * `upTo`: an older schema (a test's store as an older gateway left it).
 */
export function migrate(db: Database.Database, upTo = SCHEMA_VERSION): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new Error(`it was written by a newer gateway (schema ${version}; this one knows up to ${SCHEMA_VERSION})`);
    for (let step = version; step < upTo; step += 1) db.exec(STEPS[step] as string);
    if (version < upTo) db.pragma(`user_version = ${upTo}`);
  }).immediate();
}
