import type { DeviceSnapshot, EngineChanges, EngineSnapshot, GroupSnapshot } from '../../../rules/src/index.js';
import { ENGINE_SNAPSHOT_VERSION } from '../../../rules/src/index.js';
import type { StoreDatabase } from './open-store.js';

/** The rule engine's state as the store last saved it, and when the gateway last committed anything. */
export interface SavedEngineState {
  snapshot: EngineSnapshot;
  /** The last commit before the stop (ms): `now - aliveAt` is the time spent down. */
  aliveAt: number;
}

/** The rule engine's state in the local store: saved device by device and site by site, in the caller's commit. */
export interface EngineStateStore {
  /** Saves what changed and that the gateway was alive at `at`. Call inside the commit of what changed it. */
  save(changes: EngineChanges, at: number): void;
  /** The saved state, or null when nothing was ever saved (a new store). */
  load(): SavedEngineState | null;
}

export function createSqliteEngineState(db: StoreDatabase): EngineStateStore {
  const putDevice = db.prepare('INSERT OR REPLACE INTO engine_device (key, state) VALUES (?, ?)');
  const putSite = db.prepare('INSERT OR REPLACE INTO engine_site (site, groups) VALUES (?, ?)');
  const dropSite = db.prepare('DELETE FROM engine_site WHERE site = ?');
  const dropDevice = db.prepare('DELETE FROM engine_device WHERE key = ?');
  const putMeta = db.prepare('INSERT OR REPLACE INTO engine_meta (name, value) VALUES (?, ?)');
  const allDevices = db.prepare('SELECT state FROM engine_device').pluck();
  const allSites = db.prepare('SELECT groups FROM engine_site').pluck();
  const meta = db.prepare('SELECT value FROM engine_meta WHERE name = ?').pluck();

  return {
    save(changes, at) {
      for (const { key, state } of changes.devices) putDevice.run(key, JSON.stringify(state));
      for (const { site, groups } of changes.sites) {
        if (groups.length === 0) dropSite.run(site);
        else putSite.run(site, JSON.stringify(groups));
      }
      for (const key of changes.forgotten ?? []) dropDevice.run(key);
      putMeta.run('alive_at', String(at));
    },
    load() {
      const aliveAt = meta.get('alive_at') as string | undefined;
      if (aliveAt === undefined) return null;
      const devices = (allDevices.all() as string[]).map((text) => JSON.parse(text) as DeviceSnapshot);
      const groups = (allSites.all() as string[]).flatMap((text) => JSON.parse(text) as GroupSnapshot[]);
      return { snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices, groups }, aliveAt: Number(aliveAt) };
    },
  };
}
