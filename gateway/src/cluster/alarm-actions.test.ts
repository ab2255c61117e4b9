import { describe, expect, it } from 'vitest';
import type { AlarmAction, AlarmActionOutcome } from '../alarms/alarm-action.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import { actAnywhere, actForwarded } from './alarm-actions.js';
import type { AlarmView } from './alarm-mirror.js';

/** Alarms of site-b (judged by node-b, which does not answer) and of site-c (node-c, which does). */
function cluster() {
  const forwarded: string[] = [];
  const act = actAnywhere({
    view: { get: (id: string) => ({ id, site: id.startsWith('b') ? 'site-b' : 'site-c' }) } as unknown as AlarmView,
    alarms: {} as AlarmService,
    here: { judges: () => false, shared: () => true, settled: async () => true },
    cluster: { ownerOf: (site) => (site === 'site-b' ? 'node-b' : 'node-c') },
    forwarder: {
      forwardAction: async (owner: string, action: AlarmAction): Promise<AlarmActionOutcome> => {
        forwarded.push(`${owner} ${action.id}`);
        return owner === 'node-b'
          ? { ok: false, error: { code: 'cluster_unavailable' } }
          : ({ ok: true, transition: { alarm: { id: action.id } } } as unknown as AlarmActionOutcome);
      },
    },
  });
  return { act, forwarded };
}
const ack = (id: string): AlarmAction => ({ kind: 'ack', id, by: 'Wang Li', note: null });

describe('an action on an alarm another node judges', () => {
  it('within one request, a node that did not answer is not asked again: its other alarms are unavailable at once', async () => {
    const { act, forwarded } = cluster();
    const unavailable = new Set<string>();
    const outcomes = [];
    for (const id of ['b1', 'c1', 'b2', 'b3', 'c2']) outcomes.push(await act(ack(id), unavailable));
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'cluster_unavailable',
      'ok',
      'cluster_unavailable',
      'cluster_unavailable',
      'ok',
    ]);
    expect(forwarded).toEqual(['node-b b1', 'node-c c1', 'node-c c2']);
    expect([...unavailable]).toEqual(['node-b']);
  });

  it('alone (one alarm a request), every action is sent to its node', async () => {
    const { act, forwarded } = cluster();
    await act(ack('b1'));
    await act(ack('b2'));
    expect(forwarded).toEqual(['node-b b1', 'node-b b2']);
  });
});

describe('an action taken where it is asked', () => {
  const taken = (site: string, settled: boolean) => {
    const forwarded: string[] = [];
    const act = actAnywhere({
      view: { get: (id: string) => ({ id, site }) } as unknown as AlarmView,
      alarms: { acknowledge: (id: string) => ({ ok: true, transition: { alarm: { id } } }) } as unknown as AlarmService,
      here: { judges: (s) => s === 'site-here', shared: (s) => s !== '_gateway', settled: async () => settled },
      cluster: { ownerOf: () => null },
      forwarder: {
        forwardAction: async (owner: string, action: AlarmAction): Promise<AlarmActionOutcome> => {
          forwarded.push(`${owner} ${action.id}`);
          return { ok: false, error: { code: 'cluster_unavailable' } };
        },
      },
    });
    return { act, forwarded };
  };

  it("the gateway's own alarms (no site of the registry, no owner) are each node's: acted on where they are", async () => {
    const { act, forwarded } = taken('_gateway', false);
    expect(await act(ack('g1'))).toMatchObject({ ok: true });
    expect(forwarded).toEqual([]);
  });

  it('within one request, once the shared store did not take a write, the later actions are taken without waiting for it again', async () => {
    let waits = 0;
    const act = actAnywhere({
      view: { get: (id: string) => ({ id, site: 'site-here' }) } as unknown as AlarmView,
      alarms: { acknowledge: (id: string) => ({ ok: true, transition: { alarm: { id } } }) } as unknown as AlarmService,
      here: {
        judges: () => true,
        shared: () => true,
        settled: async () => {
          waits += 1;
          return false;
        },
      },
      cluster: { ownerOf: () => null },
      forwarder: { forwardAction: async () => expect.unreachable() },
    });
    const unavailable = new Set<string>();
    const outcomes = [];
    for (const id of ['h1', 'h2', 'h3']) outcomes.push(await act(ack(id), unavailable));
    expect(outcomes).toEqual(Array(3).fill({ ok: false, error: { code: 'cluster_unavailable' } }));
    expect(waits).toBe(1);
    // alone (a request of its own), each waits
    await act(ack('h4'));
    expect(waits).toBe(2);
  });

  it('sent here while this node takes the site over (its alarm not in the book yet): unavailable, try again — not alarm_not_found', async () => {
    let judging = false;
    const alarms = { book: { get: () => undefined } } as unknown as AlarmService;
    const here = { judges: () => judging, shared: () => true, settled: async () => true };
    const view = { get: (id: string) => (id === 'a1' ? ({ id, site: 'site-a' } as never) : undefined) };
    expect(await actForwarded(alarms, here, view)(ack('a1'))).toEqual({ ok: false, error: { code: 'cluster_unavailable' } });
    judging = true; // taken over: the book answers (here: it has none, so not found)
    const answered = { ...alarms, book: { get: () => undefined } } as unknown as AlarmService;
    const perform = actForwarded(
      { ...answered, acknowledge: () => ({ ok: false, error: { code: 'alarm_not_found' } }) } as unknown as AlarmService,
      here,
      view,
    );
    expect(await perform(ack('a1'))).toMatchObject({ ok: false, error: { code: 'alarm_not_found' } });
  });

  it('on the node that judges the site: answered once in the shared store, else unavailable (it stands, written later)', async () => {
    expect(await taken('site-here', true).act(ack('h1'))).toMatchObject({ ok: true });
    expect(await taken('site-here', false).act(ack('h1'))).toEqual({ ok: false, error: { code: 'cluster_unavailable' } });
  });
});
