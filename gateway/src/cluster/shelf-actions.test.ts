import { describe, expect, it } from 'vitest';
import type { Shelf } from '../../../rules/src/index.js';
import type { ShelfAction, ShelfOutcome, ShelfService } from '../alarms/shelf-service.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import type { AlarmView } from './alarm-mirror.js';
import { shelfActionForwarded, shelvesAnywhere } from './shelf-actions.js';

const shelf = (id: string, site: string, createdAt: string, endedAt: string | null = null): Shelf => ({
  id,
  scope: 'site',
  site,
  device: null,
  alarm: null,
  reason: 'maintenance',
  by: 'Wang Li',
  from: createdAt,
  until: '2026-12-06T12:00:00.000Z',
  holdsRed: false,
  createdAt,
  endedAt,
  endedBy: null,
});

const DEVICES = [
  { id: 'd-here', site: 'site-here' },
  { id: 'd-there', site: 'site-there' },
] as RegisteredDevice[];
const registry = { get: (id: string) => DEVICES.find((d) => d.id === id), all: () => DEVICES };
const alarms = {
  get: (id: string) =>
    ({ alm_here: { id, site: 'site-here' }, alm_there: { id, site: 'site-there' }, alm_gateway: { id, site: '_gateway' } })[id],
} as unknown as AlarmView;
const actor = { name: 'Wang Li', mayShelveRed: false };
const window = (where: Extract<ShelfAction, { kind: 'declareWindow' }>['where']): ShelfAction => ({
  kind: 'declareWindow',
  where,
  reason: 'maintenance',
  times: { durationMinutes: 30 },
  actor,
});

/**
 * This node judges site-here; site-there is node-b's; `_gateway` (the gateway's own alarms) is no site of the
 * registry. The local service and the forwarder say where each action went; `done`: what the local service answers.
 */
function node(done: 'refused' | 'done' = 'refused', settled = true) {
  const went: string[] = [];
  const outcome = (where: string): ShelfOutcome => {
    went.push(where);
    return done === 'done' && where === 'here'
      ? { ok: true, shelf: shelf('shf_new', 'site-here', '2026-12-06T04:00:00.000Z'), alarm: null }
      : { ok: false, code: 'shelf_not_found', message: where };
  };
  const local = {
    shelveAlarm: () => outcome('here'),
    unshelveAlarm: () => outcome('here'),
    declareWindow: () => outcome('here'),
    end: () => outcome('here'),
    list: (all: boolean) =>
      [
        shelf('shf_4', 'site-here', '2026-12-06T03:30:00.000Z', '2026-12-06T03:40:00.000Z'),
        shelf('shf_3', 'site-here', '2026-12-06T03:00:00.000Z'),
        shelf('shf_1', 'site-here', '2026-12-06T01:00:00.000Z'),
      ].filter((s) => all || s.endedAt === null),
    get: (id: string) => (id === 'shf_3' || id === 'shf_1' ? shelf(id, 'site-here', '2026-12-06T01:00:00.000Z') : undefined),
  } as ShelfService;
  const mirror = {
    shelves: () => [
      shelf('shf_2', 'site-there', '2026-12-06T02:00:00.000Z'),
      shelf('shf_0', 'site-there', '2026-12-06T00:00:00.000Z', '2026-12-06T00:30:00.000Z'),
      // what the mirror last heard of shelves of a site this node judges: the book's own win (shf_4 ended here)
      { ...shelf('shf_1', 'site-here', '2026-12-06T01:00:00.000Z'), reason: 'stale' },
      shelf('shf_4', 'site-here', '2026-12-06T03:30:00.000Z'),
    ],
  };
  const desk = shelvesAnywhere({
    local,
    alarms,
    mirror,
    registry,
    here: { judges: (site) => site === 'site-here', shared: (site) => site !== '_gateway', settled: async () => settled },
    cluster: { ownerOf: (site) => (site === 'site-there' ? 'node-b' : null) },
    forwarder: { forwardShelfAction: async (owner) => outcome(owner) },
  });
  return { desk, went, local };
}

describe('shelving on any node of a cluster', () => {
  it("each action goes to the node that judges its site: the alarm's, the window's device's or site's, the shelf's", async () => {
    const { desk, went } = node();
    await desk.act({ kind: 'shelveAlarm', alarmId: 'alm_there', reason: 'r', times: { durationMinutes: 5 }, actor });
    await desk.act({ kind: 'unshelveAlarm', alarmId: 'alm_here', note: null, actor });
    await desk.act(window({ scope: 'device', device: 'd-there' }));
    await desk.act(window({ scope: 'site', site: 'site-here' }));
    await desk.act(window({ scope: 'site', site: 'site-there' }));
    await desk.act({ kind: 'endShelf', id: 'shf_2', note: null, actor });
    await desk.act({ kind: 'endShelf', id: 'shf_3', note: null, actor });
    expect(went).toEqual(['node-b', 'here', 'node-b', 'here', 'node-b', 'node-b', 'here']);
  });

  it('what has no site to find (no such alarm, device, site or shelf) is refused here, with the code a single node gives', async () => {
    const { desk, went } = node();
    await desk.act({ kind: 'shelveAlarm', alarmId: 'alm_nowhere', reason: 'r', times: {}, actor });
    await desk.act(window({ scope: 'device', device: 'd-nowhere' }));
    await desk.act(window({ scope: 'site', site: 'site-nowhere' }));
    await desk.act({ kind: 'endShelf', id: 'shf_nowhere', note: null, actor });
    expect(went).toEqual(['here', 'here', 'here', 'here']);
  });

  it('lists every node’s shelves, newest first, the book’s own over the mirror’s; ended ones only when asked', () => {
    const { desk } = node();
    expect(desk.list(false).map((s) => s.id)).toEqual(['shf_3', 'shf_2', 'shf_1']);
    expect(desk.list(true).map((s) => s.id)).toEqual(['shf_4', 'shf_3', 'shf_2', 'shf_1', 'shf_0']);
    expect(desk.list(true).find((s) => s.id === 'shf_1')?.reason).toBe('maintenance');
    expect(desk.get('shf_2')?.site).toBe('site-there');
  });

  it("the gateway's own alarms (no site of the registry, no owner) are shelved on the node they are on", async () => {
    const { desk, went } = node();
    await desk.act({ kind: 'shelveAlarm', alarmId: 'alm_gateway', reason: 'r', times: { durationMinutes: 5 }, actor });
    expect(went).toEqual(['here']);
  });

  it('taken here, the answer waits for the shared store: not there yet (Redis away), unavailable, the window stands here', async () => {
    const declare = window({ scope: 'site', site: 'site-here' });
    expect(await node('done', true).desk.act(declare)).toMatchObject({ ok: true, shelf: { id: 'shf_new' } });
    expect(await node('done', false).desk.act(declare)).toMatchObject({ ok: false, code: 'cluster_unavailable' });
  });

  it('an action sent to a node that no longer judges its site is refused as unavailable there (the operator tries again)', async () => {
    const { local, went } = node();
    const here = { judges: (site: string) => site === 'site-here', shared: () => true, settled: async () => true };
    const take = shelfActionForwarded(local, { alarms, shelf: () => undefined, registry }, here);
    expect(await take(window({ scope: 'site', site: 'site-there' }))).toMatchObject({ ok: false, code: 'cluster_unavailable' });
    expect(await take(window({ scope: 'site', site: 'site-here' }))).toMatchObject({ ok: false, message: 'here' });
    expect(went).toEqual(['here']);
  });
});
