import type { DeviceSnapshot, EngineChanges, EngineSnapshot, GroupSnapshot } from '../../../rules/src/index.js';
import { ENGINE_SNAPSHOT_VERSION } from '../../../rules/src/index.js';
import type { BatchedInsert } from './batched-insert.js';
import { type JournalEntry, journalEntriesOf, journalRowText } from './journal-text.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

/** The rule engine's state as the store last saved it, and when the gateway last committed anything. */
export interface SavedEngineState {
  snapshot: EngineSnapshot;
  /** The last commit before the stop (ms): `now - aliveAt` is the time spent down. */
  aliveAt: number;
  /** Journal entries not yet in every device's saved state, oldest first. */
  journal: Array<{ id: number; entry: JournalEntry }>;
  /** Per device key, the last journal entry its saved state includes (entries after it are to replay for it). */
  journalAt: ReadonlyMap<string, number>;
}

/** The rule engine's state in the local store: saved device by device and site by site, in the caller's commit. */
export interface EngineStateStore {
  /**
   * Saves what changed and that the gateway was alive at `at`. Call inside the commit of what changed it. The devices
   * saved include every journal entry written so far.
   */
  save(changes: EngineChanges, at: number): void;
  /**
   * Appends an entry (in the caller's commit) with the commit's time `at`; returns its id. A `save` at that time then
   * leaves `alive_at` as it is: the entry says it (one page less in each commit of a steady trickle).
   */
  journal(entry: JournalEntry, at: number): number;
  /** The id of the last entry written (0: none yet). */
  journalPosition(): number;
  /**
   * Deletes the entries before `before` (every device's saved state includes them): the rows all of whose entries are
   * before it (a row holding a later one stays whole; a start skips its older entries, as every saved state includes
   * them). With `at` (the commit's time), at most once a second: the delete touches the journal's first pages, one
   * more page for SQLite's log in each commit of a plant's steady trickle. When every entry goes, the time of the last
   * save goes to `alive_at` (the entries carried it).
   */
  forgetJournal(before: number, at?: number): void;
  /** The saved state, or null when nothing was ever saved (a new store). */
  load(): SavedEngineState | null;
}

/** Journal entries no saved state needs are deleted at most this often, but at a full save. */
const FORGET_EVERY_MS = 1_000;

/** `later`: the lane's write buffer (the state is serialised at once, written in the lane's commit); default: written at once. */
export function createSqliteEngineState(db: StoreDatabase, later: WriteBuffer = createWriteBuffer()): EngineStateStore {
  const putDevice = db.prepare('INSERT OR REPLACE INTO engine_device (key, state, journal_at) VALUES (?, ?, ?)');
  const putSite = db.prepare('INSERT OR REPLACE INTO engine_site (site, groups) VALUES (?, ?)');
  const dropSite = db.prepare('DELETE FROM engine_site WHERE site = ?');
  const dropDevice = db.prepare('DELETE FROM engine_device WHERE key = ?');
  const putMeta = db.prepare('INSERT OR REPLACE INTO engine_meta (name, value) VALUES (?, ?)');
  const putRow = db.prepare('INSERT INTO engine_journal (id, last, entry) VALUES (?, ?, ?)');
  // a row whose last entry is still needed stays whole (its older entries are skipped at start, as every saved
  // state includes them); `id < ?` bounds the scan to the rows' key range, `last` has no index
  const dropEntries = db.prepare('DELETE FROM engine_journal WHERE id < ? AND coalesce(last, id) < ?');
  const allDevices = db.prepare('SELECT key, state, journal_at FROM engine_device').raw(true);
  const allSites = db.prepare('SELECT groups FROM engine_site').pluck();
  const allEntries = db.prepare('SELECT id, entry FROM engine_journal ORDER BY id').raw(true);
  const lastEntry = db.prepare('SELECT max(coalesce(last, id)) FROM engine_journal').pluck();
  const aliveMeta = db.prepare('SELECT value FROM engine_meta WHERE name = ?').pluck();

  // Ids never go back: a device's saved state names the last entry it includes (journal_at), and a device the start
  // does not save again keeps it; an empty journal (a clean stop forgets it all) must not number the next entries from 1,
  // or a replay after a crash would take them for entries that device's state already has.
  const lastIncluded = db.prepare('SELECT max(journal_at) FROM engine_device').pluck();
  let position = Math.max((lastEntry.get() as number | null) ?? 0, (lastIncluded.get() as number | null) ?? 0);
  /** The time of the last entry written. */
  let journaledAt = Number.NaN;
  /** The time of the last save. */
  let savedAt = Number.NaN;
  /** Entries before this are deleted (or being deleted in the commit in progress). */
  let forgottenBefore = 0;
  /** When they were last deleted (commit time). */
  let forgottenAt = Number.NEGATIVE_INFINITY;

  /**
   * A commit's entries (id, entry for each) as one row: a row of SQLite's log for a commit of many batches, not each.
   * Serialised in the commit: a reading is not changed once judged.
   */
  const journalRow: BatchedInsert = {
    write(values) {
      const entries: JournalEntry[] = [];
      for (let i = 1; i < values.length; i += 2) entries.push(values[i] as JournalEntry);
      putRow.run(values[0], values.at(-2), journalRowText(entries));
    },
  };

  return {
    save(changes, at) {
      const devices = changes.devices.map(({ key, state }) => [key, JSON.stringify(state)] as const);
      const sites = changes.sites.map(({ site, groups }) => [site, groups.length === 0 ? null : JSON.stringify(groups)] as const);
      const journalAt = position;
      savedAt = at;
      // the time is in this commit's journal entry unless there is none
      const alive = journaledAt === at ? null : String(at);
      later.add(() => {
        for (const [key, state] of devices) putDevice.run(key, state, journalAt);
        for (const [site, groups] of sites) {
          if (groups === null) dropSite.run(site);
          else putSite.run(site, groups);
        }
        for (const key of changes.forgotten ?? []) dropDevice.run(key);
        if (alive !== null) putMeta.run('alive_at', alive);
      });
    },
    journal(entry, at) {
      position += 1;
      const id = position;
      journaledAt = at;
      later.addRow(journalRow, [id, { ...entry, at }]);
      return id;
    },
    journalPosition: () => position,
    forgetJournal(before, at) {
      if (before <= forgottenBefore) return;
      if (at !== undefined && at - forgottenAt < FORGET_EVERY_MS && at >= forgottenAt) return;
      if (at !== undefined) forgottenAt = at;
      forgottenBefore = before;
      // every entry goes, the last one's time with it: alive_at says it again
      const alive = before > position && !Number.isNaN(savedAt) ? String(savedAt) : null;
      later.add(() => {
        dropEntries.run(before, before);
        if (alive !== null) putMeta.run('alive_at', alive);
      });
    },
    load() {
      const meta = aliveMeta.get('alive_at') as string | undefined;
      const journalAt = new Map<string, number>();
      const devices = (allDevices.all() as Array<[string, string, number]>).map(([key, text, at]) => {
        journalAt.set(key, at);
        return JSON.parse(text) as DeviceSnapshot;
      });
      const groups = (allSites.all() as string[]).flatMap((text) => JSON.parse(text) as GroupSnapshot[]);
      const journal = (allEntries.all() as Array<[number, string]>).flatMap(([id, row]) => journalEntriesOf(id, row));
      // the last commit: alive_at, or a later entry's time
      const aliveAt = journal.reduce(
        (latest, { entry }) => Math.max(latest, entry.at ?? latest),
        meta === undefined ? Number.NEGATIVE_INFINITY : Number(meta),
      );
      if (aliveAt === Number.NEGATIVE_INFINITY) return null;
      return { snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices, groups }, aliveAt, journal, journalAt };
    },
  };
}
