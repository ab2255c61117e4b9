import type { DeviceSnapshot, EngineChanges, EngineSnapshot, GroupSnapshot } from '../../../rules/src/index.js';
import { ENGINE_SNAPSHOT_VERSION } from '../../../rules/src/index.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

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

/** `later`: the lane's write buffer (the state is serialised at once, written in the lane's commit); default: written at once. */
export function createSqliteEngineState(db: StoreDatabase, later: WriteBuffer = createWriteBuffer()): EngineStateStore {
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
      const devices = changes.devices.map(({ key, state }) => [key, JSON.stringify(state)] as const);
      const sites = changes.sites.map(({ site, groups }) => [site, groups.length === 0 ? null : JSON.stringify(groups)] as const);
      later.add(() => {
        for (const [key, state] of devices) putDevice.run(key, state);
        for (const [site, groups] of sites) {
          if (groups === null) dropSite.run(site);
          else putSite.run(site, groups);
        }
        for (const key of changes.forgotten ?? []) dropDevice.run(key);
        putMeta.run('alive_at', String(at));
      });
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
