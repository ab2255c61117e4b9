import { describe, expect, it } from 'vitest';
import { harness } from '../test-support/harness.js';
import { SILENT_AND_HOT_RULES } from '../test-support/silent-and-hot.js';
import { ENGINE_SNAPSHOT_VERSION, type EngineChanges, type EngineSnapshot } from './index.js';

const MIN = 60_000;

/** What a node wrote of its sites, change by change, as the shared store keeps it: the last state of each device. */
function shared(changes: EngineChanges[]): EngineSnapshot {
  const devices = new Map<string, EngineSnapshot['devices'][number]>();
  const groups = new Map<string, NonNullable<EngineSnapshot['groups']>>();
  for (const change of changes) {
    for (const { key, state } of change.devices) devices.set(key, structuredClone(state));
    for (const { site, groups: slots } of change.sites) groups.set(site, structuredClone(slots));
  }
  return { version: ENGINE_SNAPSHOT_VERSION, devices: [...devices.values()], groups: [...groups.values()].flat() };
}

describe('adopting the sites of another gateway node from their saved state (issue 16: ownership moves)', () => {
  it('the new owner goes on where the old one was: its silence clock, its pending on-delay and its alarm shown', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    const written: EngineChanges[] = [];
    a.engine.registerDevices([a.device], 0);
    written.push(a.engine.takeChanged());
    a.read(MIN, { t: 70 }); // hot: yellow after the 10 min on-delay, at 11 min
    written.push(a.engine.takeChanged());

    // node b took the site at 3 min, with state of its own for another site
    const b = harness(SILENT_AND_HOT_RULES);
    const other = { ...b.device, site: 'other', device: 'x' };
    b.engine.registerDevices([other], 0);
    expect(b.engine.adoptSites(shared(written), 3 * MIN, 0)).toEqual([]);
    b.engine.registerDevices([b.device], 3 * MIN); // already adopted: no fresh start
    expect(b.engine.tick(11 * MIN - 1)).toEqual([]);
    expect(b.engine.tick(11 * MIN).map((c) => [c.key, c.verdict.status])).toEqual([['s/d/hot', 'true']]);
    // silent since the reading at 1 min: 16 min, as on the old owner — not 15 min after the move (18 min)
    expect(b.engine.tick(15 * MIN).map((c) => c.key)).toEqual(['other/x/silent']);
    expect(b.engine.tick(16 * MIN).map((c) => c.key)).toEqual(['s/d/silent']);
  });

  it('an alarm shown by the old owner clears on the new one with the next cool reading (no second raise first)', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.engine.registerDevices([a.device], 0);
    a.read(MIN, { t: 70 });
    expect(a.tick(11 * MIN).map((c) => c.verdict.status)).toEqual(['true']);
    const b = harness(SILENT_AND_HOT_RULES);
    b.engine.adoptSites(shared([a.engine.takeChanged()]), 12 * MIN, 0);
    expect(b.engine.verdicts().find((v) => v.key === 's/d/hot')).toEqual({ key: 's/d/hot', status: 'true', severity: 'yellow' });
    const after = b.read(12 * MIN, { t: 50 });
    expect(after.map((c) => [c.key, c.verdict.status])).toEqual([['s/d/hot', 'false']]);
  });

  it('time no node judged the site does not count: the silence clock is pushed back by downMs', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.engine.registerDevices([a.device], 0);
    a.read(MIN, { t: 20 });
    const b = harness(SILENT_AND_HOT_RULES);
    b.engine.adoptSites(shared([a.engine.takeChanged()]), 5 * MIN, 2 * MIN);
    expect(b.engine.tick(17 * MIN + MIN - 1)).toEqual([]);
    expect(b.engine.tick(18 * MIN).map((c) => c.key)).toEqual(['s/d/silent']);
  });

  it('state held of an adopted site is replaced, and the site is not reported forgotten to the store', () => {
    const a = harness(SILENT_AND_HOT_RULES);
    a.engine.registerDevices([a.device], 0);
    a.read(MIN, { t: 70 });
    const saved = shared([a.engine.takeChanged()]);
    const b = harness(SILENT_AND_HOT_RULES);
    b.engine.registerDevices([b.device], 0); // a fresh start of the same device, no reading
    b.engine.forgetSites(['s']);
    b.engine.adoptSites(saved, 2 * MIN, 0);
    const changes = b.engine.takeChanged();
    expect(changes.forgotten).toBeUndefined();
    expect(b.engine.snapshot().devices).toHaveLength(1);
    expect(b.engine.snapshot().devices[0]?.lastTs).toBe(MIN);
    expect(b.engine.tick(11 * MIN).map((c) => c.key)).toEqual(['s/d/hot']);
  });
});
