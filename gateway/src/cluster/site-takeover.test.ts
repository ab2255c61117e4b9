import { afterEach, describe, expect, it } from 'vitest';
import type { SiteAlarms } from '../../../rules/src/index.js';
import { HOPPER_ALARM } from '../../../test/support/hopper-alarm.js';
import { createLogger } from '../observability/logger.js';
import type { TakenSite } from './site-replica.js';
import { createSiteTakeover, type SiteTakeover } from './site-takeover.js';

const empty: SiteAlarms = { alarms: [], history: [], flaps: [] };
const taken = (site: string): TakenSite => ({
  site,
  snapshot: { version: 3, devices: [], groups: [] },
  alarms: alarmsOf.get(site) ?? empty,
  seen: [],
  downMs: 0,
});
/** What the shared store holds of a site's alarms, where a test sets more than none. */
const alarmsOf = new Map<string, SiteAlarms>();
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** A takeover over a fake cluster view, shared store, lane and book that record what they were told. */
function setup(owned: string[]) {
  const view = { owned: new Set(owned) };
  const told = {
    forgotten: [] as string[][],
    adopted: 0,
    lane: [] as Array<{ sites: string[]; handover: string[] }>,
    /** Keys acknowledged to the lane, with how many `ownSites` it had been told before. */
    acknowledged: [] as Array<[key: string, afterOwnSites: number]>,
    taken: [] as string[][],
  };
  const lane = { busy: false, waiting: [] as Array<() => void> };
  let clock = 0;
  const takeover = createSiteTakeover({
    cluster: { owns: (site) => view.owned.has(site) },
    sites: () => ['s1', 's2', 's3'],
    replica: {
      take: async (sites) => {
        told.taken.push([...sites]);
        return sites.map(taken);
      },
    },
    lane: {
      ownSites: (sites, _now, handover) => {
        told.lane.push({ sites: [...(sites ?? [])].sort(), handover: (handover ?? []).map((h) => h.site) });
        // the lane applies it at once, or once the test lets it (a worker busy with batches judged before)
        return lane.busy ? new Promise<void>((resolve) => lane.waiting.push(resolve)) : Promise.resolve();
      },
      acknowledged: (key) => told.acknowledged.push([key, told.lane.length]),
    },
    book: {
      forgetSites: (sites) => told.forgotten.push([...sites]),
      adopt: () => {
        told.adopted += 1;
      },
    },
    now: () => clock,
    checkEvery: 60_000,
    backoff: 2_000,
    log: createLogger('silent'),
  });
  /** The lane has applied what it was told: its answers come. */
  const laneCaughtUp = () => {
    for (const resolve of lane.waiting.splice(0)) resolve();
  };
  return { takeover, view, told, lane, laneCaughtUp, advance: (ms: number) => (clock += ms) };
}

describe('which sites a cluster node judges (issue 16)', () => {
  let running: SiteTakeover | null = null;
  afterEach(() => {
    running?.close();
    alarmsOf.clear();
  });

  it("tells the lane of the taken alarms' acknowledgements after their rule state: a latch the last owner never let go is let go", async () => {
    const alarm = (id: string, acknowledged: boolean, resolved = false) => ({
      ...HOPPER_ALARM,
      id,
      key: `s1/dc-01/${id}`,
      acknowledged,
      resolved,
    });
    alarmsOf.set('s1', { ...empty, alarms: [alarm('acked', true), alarm('not-acked', false), alarm('closed', true, true)] });
    const { takeover, told } = setup(['s1']);
    running = takeover;
    takeover.reconcile();
    await settle();
    expect(told.lane).toEqual([{ sites: ['s1'], handover: ['s1'] }]);
    expect(told.acknowledged).toEqual([['s1/dc-01/acked', 1]]);
  });

  it('takes the sites it owns over before judging them, and lets go of those it no longer owns', async () => {
    const { takeover, view, told } = setup(['s1', 's2']);
    running = takeover;
    expect(takeover.judges('s1')).toBe(false);
    takeover.reconcile();
    await settle();
    expect(told.taken).toEqual([['s1', 's2']]);
    expect(told.adopted).toBe(2);
    expect(told.lane.at(-1)).toEqual({ sites: ['s1', 's2'], handover: ['s1', 's2'] });
    expect(takeover.judges('s1') && takeover.judges('s2') && !takeover.judges('s3')).toBe(true);
    view.owned = new Set(['s2', 's3']);
    takeover.reconcile();
    await settle();
    expect(told.forgotten).toContainEqual(['s1']);
    expect(told.taken.at(-1)).toEqual(['s3']);
    expect(told.lane.at(-1)).toEqual({ sites: ['s2', 's3'], handover: ['s3'] });
    expect(takeover.judges('s1')).toBe(false);
  });

  it('a fenced site is let go at once and not taken back before the backoff, even though the view still says it is its own', async () => {
    const { takeover, told, advance } = setup(['s1']);
    running = takeover;
    takeover.reconcile();
    await settle();
    takeover.fenced('s1');
    expect(takeover.judges('s1')).toBe(false);
    expect(told.lane.at(-1)?.sites).toEqual([]);
    takeover.reconcile();
    await settle();
    expect(told.taken).toEqual([['s1']]);
    advance(2_000);
    takeover.reconcile();
    await settle();
    expect(told.taken).toEqual([['s1'], ['s1']]);
    expect(takeover.judges('s1')).toBe(true);
  });

  it('alarm changes that land after a site was let go leave the book: on a fenced write (again) and on a write that went through', async () => {
    const { takeover, told } = setup(['s1']);
    running = takeover;
    takeover.reconcile();
    await settle();
    takeover.fenced('s1');
    const before = told.forgotten.length;
    takeover.fenced('s1'); // a second write of the site, of a reading judged before the first fence
    expect(told.forgotten.length).toBe(before + 1);
    takeover.written('s2'); // not judged here
    expect(told.forgotten.at(-1)).toEqual(['s2']);
    const count = told.forgotten.length;
    takeover.written('s3'); // not judged here either
    expect(told.forgotten.length).toBe(count + 1);
  });

  it('a site it no longer owns leaves the book only once the lane has let go of it: changes judged before go on its alarms', async () => {
    const { takeover, view, told, lane, laneCaughtUp } = setup(['s1', 's2']);
    running = takeover;
    takeover.reconcile();
    await settle();
    const before = told.forgotten.length; // the take forgets what the book held of the sites before adopting them
    lane.busy = true;
    view.owned = new Set(['s2']);
    takeover.reconcile();
    await settle();
    expect(takeover.judges('s1')).toBe(false);
    expect(told.lane.at(-1)?.sites).toEqual(['s2']);
    // the lane is still handing on what it judged of s1 before: its alarms stay, and so does a write of them
    takeover.written('s1');
    expect(told.forgotten.slice(before).flat()).toEqual([]);
    laneCaughtUp();
    await settle();
    expect(told.forgotten.slice(before).flat()).toEqual(['s1']);
    // from now on a change that lands after all leaves the book with its write
    const count = told.forgotten.length;
    takeover.written('s1');
    expect(told.forgotten.length).toBe(count + 1);
  });

  it('a site let go of and taken back before the lane caught up stays in the book', async () => {
    const { takeover, view, told, lane, laneCaughtUp } = setup(['s1']);
    running = takeover;
    takeover.reconcile();
    await settle();
    lane.busy = true;
    view.owned = new Set();
    takeover.reconcile();
    await settle();
    view.owned = new Set(['s1']);
    takeover.reconcile();
    await settle();
    expect(takeover.judges('s1')).toBe(true);
    const count = told.forgotten.length; // the take-back forgets what the book held before adopting
    laneCaughtUp();
    await settle();
    expect(told.forgotten.length).toBe(count);
  });

  it('a write of a site it judges leaves the book alone', async () => {
    const { takeover, told } = setup(['s1']);
    running = takeover;
    takeover.reconcile();
    await settle();
    const count = told.forgotten.length;
    takeover.written('s1');
    expect(told.forgotten.length).toBe(count);
  });
});
