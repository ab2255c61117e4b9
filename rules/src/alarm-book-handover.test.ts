import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stepArbitrary, toChange } from '../test-support/inhibition-steps.js';
import { verdictChange } from '../test-support/verdict-change.js';
import type { AlarmTransition } from './alarm.js';
import { createAlarmBook, type FlapRecord, type SiteAlarms } from './alarm-book.js';
import type { Severity } from './severity.js';
import type { Shelf } from './shelf.js';

let n = 0;
const book = () => createAlarmBook({ newAlarmId: () => `alm_${++n}`, deadlineOf: (_site, raisedAt) => raisedAt + 60_000 });

const change = (site: string, at: number, severity: Severity | null) => verdictChange(at, severity, { site });

/** What a node hands over of a site: its alarms not resolved, with histories, flapping records and shelves (as the shared store keeps them). */
const handOver = (from: ReturnType<typeof book>, site: string): SiteAlarms => {
  const snapshot = from.snapshot();
  const alarms = snapshot.alarms.filter((alarm) => alarm.site === site && !alarm.resolved);
  const ids = new Set(alarms.map((alarm) => alarm.id));
  const keys = new Set(alarms.map((alarm) => alarm.key));
  return {
    alarms,
    history: snapshot.history.filter(([id]) => ids.has(id)),
    flaps: (snapshot.flaps ?? []).filter(([key]) => keys.has(key)),
    shelves: (snapshot.shelves ?? []).filter((shelf) => shelf.site === site && shelf.endedAt === null),
    inhibition: {
      inhibitors: (snapshot.inhibition?.inhibitors ?? []).filter((inhibitor) => inhibitor.site === site),
      held: (snapshot.inhibition?.latent ?? [])
        .filter(([, change]) => change.site === site)
        .map(([key, change]) => ({ change, metric: new Map(snapshot.inhibition?.heldMetrics).get(key) ?? null })),
    },
  };
};

describe('alarms handed from one gateway node to another with their sites (issue 16)', () => {
  it('the new owner goes on with the same alarm: its id, its seq, its history and its same-day deadline', () => {
    const a = book();
    const raised = a.apply(change('s', 0, 'yellow'))[0]?.alarm.id as string;
    a.apply(change('s', 1_000, 'red'));
    const b = book();
    b.adopt(handOver(a, 's'));
    const cleared = b.apply(change('s', 2_000, null));
    expect(cleared.map((t) => [t.type, t.alarm.id, t.alarm.seq])).toEqual([['alarm.cleared', raised, 3]]);
    expect(b.history(raised).map((t) => t.type)).toEqual(['alarm.raised', 'alarm.escalated', 'alarm.cleared']);
    expect(b.acknowledge(raised, 'op', null, 3_000)).toMatchObject({ ok: true, transition: { alarm: { seq: 4 } } });
    // the deadline set when the old owner raised it: overdue at 60 s on the new owner
    expect(b.nextDueAt()).toBe(60_000);
    expect(b.tick(60_000).map((t) => t.type)).toEqual(['alarm.overdue']);
  });

  it('the condition coming back raises nothing new while the handed-over alarm is open', () => {
    const a = book();
    const raised = a.apply(change('s', 0, 'yellow'))[0]?.alarm.id as string;
    const b = book();
    b.adopt(handOver(a, 's'));
    expect(b.apply(change('s', 1_000, 'yellow'))).toEqual([]);
    expect(b.apply(change('s', 2_000, 'orange')).map((t) => [t.type, t.alarm.id])).toEqual([['alarm.escalated', raised]]);
  });

  it('the old owner forgets the site’s open alarms (and their deadlines), keeps its resolved ones and the other sites', () => {
    const a = book();
    const resolvedId = a.apply(change('s', 0, 'yellow'))[0]?.alarm.id as string;
    a.apply(change('s', 1, null));
    a.resolve(resolvedId, 'op', null, 2);
    a.apply(change('s', 3, 'red'));
    const other = a.apply(change('t', 4, 'yellow'))[0]?.alarm.id as string;
    a.forgetSites(['s']);
    expect(a.list({ state: 'all' }).map((alarm) => alarm.id)).toEqual([other, resolvedId]);
    // the forgotten alarm's deadline does not fire here: only the other site's
    expect(a.tick(70_000).map((t) => [t.type, t.alarm.id])).toEqual([['alarm.overdue', other]]);
    // taken back later: the next change raises afresh (the new owner had it meanwhile)
    expect(a.apply(change('s', 80_000, 'red')).map((t) => t.type)).toEqual(['alarm.raised']);
  });

  it('a maintenance window goes with its site: the new owner holds what it covers and ends it on time; the old owner forgets it', () => {
    const a = book();
    const window = {
      id: 'shf_1',
      scope: 'site',
      site: 's',
      reason: 'kiln relining',
      by: 'op',
      from: 0,
      until: 30_000,
      holdsRed: false,
    } as const;
    expect(a.shelving.shelve(window, 0).ok).toBe(true);
    a.shelving.shelve({ ...window, id: 'shf_2', site: 't' }, 0);
    const raised = a.apply(change('s', 1_000, 'yellow'));
    expect(raised.map((t) => [t.type, t.held])).toEqual([['alarm.raised', 'shf_1']]);
    const b = book();
    b.adopt(handOver(a, 's'));
    a.forgetSites(['s']);
    expect(a.shelving.list(true).map((shelf) => shelf.id)).toEqual(['shf_2']);
    expect(b.shelving.list(true).map((shelf) => shelf.id)).toEqual(['shf_1']);
    // on the new owner the window still holds the site's transitions, and ends at its until with the state it hid
    expect(b.apply(change('s', 2_000, 'orange')).map((t) => [t.type, t.held])).toEqual([['alarm.escalated', 'shf_1']]);
    expect(b.nextDueAt()).toBe(30_000);
    expect(b.tick(30_000).map((t) => [t.type, t.alarm.id, t.held])).toEqual([
      ['alarm.unshelved', raised[0]?.alarm.id, undefined],
      ['alarm.raised', raised[0]?.alarm.id, undefined],
    ]);
    // the old owner no longer ends it (nothing of the site left there), and holds the site's next alarm no more
    expect(a.tick(30_000).filter((t) => t.alarm.site === 's')).toEqual([]);
    expect(a.apply(change('s', 31_000, 'red')).map((t) => [t.type, t.held])).toEqual([['alarm.raised', undefined]]);
    // adopted again (the site came back with the same window): replaced, not doubled
    const c = book();
    c.adopt({ alarms: [], history: [], shelves: b.shelving.snapshot() });
    c.adopt({ alarms: [], history: [], shelves: b.shelving.snapshot() });
    expect(c.shelving.list(true)).toHaveLength(1);
    // what is handed over of the site the next time is all there is of it: a shelf no longer in it goes
    const [kept] = b.shelving.snapshot();
    c.adopt({ alarms: [], history: [], shelves: [{ ...(kept as Shelf), id: 'shf_9' }] });
    expect(c.shelving.list(true).map((shelf) => shelf.id)).toEqual(['shf_9']);
  });

  it('a site handed over at any point goes on as if it had stayed: its inhibitors go on holding, and release what they held when they end', () => {
    /** A step's transitions as a user sees them, in order (alarm ids differ between books). */
    const seen = (steps: AlarmTransition[]): string[] => steps.map((t) => `${t.type} ${t.alarm.key} ${t.alarm.severity} ${t.alarm.state}`);
    fc.assert(
      fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 80, size: 'medium' }), fc.nat(), (steps, cut) => {
        const at = cut % (steps.length + 1);
        const stayed = book();
        const before = book();
        const after = book();
        for (const [i, step] of steps.entries()) {
          const change = toChange(step, i);
          const expected = seen(stayed.applyAll([change]));
          if (i < at) {
            before.applyAll([change]);
            continue;
          }
          if (i === at) {
            after.adopt(handOver(before, 'a'));
            before.forgetSites(['a']);
          }
          // site a on the node it moved to, site b where it was
          expect(seen((step.site === 'a' ? after : before).applyAll([change]))).toEqual(expected);
        }
        // what is held, by which inhibitor, in the order it was first held
        const heldNow = (b: ReturnType<typeof book>, site: string) =>
          b.inhibition
            .held()
            .filter((h) => h.key.startsWith(`${site}/`))
            .map((h) => `${h.key} by ${h.inhibitedBy}`);
        const heldStayed = (site: string) => heldNow(stayed, site);
        if (at < steps.length) {
          expect(heldNow(after, 'a')).toEqual(heldStayed('a'));
          expect(heldNow(before, 'a')).toEqual([]);
          expect(before.inhibition.inhibitors().filter((i) => i.site === 'a')).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("adopting a site's inhibition again replaces what the book held of it", () => {
    const a = book();
    for (const device of ['d1', 'd2']) {
      a.apply(toChange({ site: 's', device, rule: 'device_silent', status: 'true', metric: 'x' }, 1));
      a.apply(toChange({ site: 's', device, rule: 'temp_high', status: 'true', metric: 'x' }, 2));
    }
    const b = book();
    b.adopt(handOver(a, 's'));
    expect(b.inhibition.held().map((h) => h.key)).toEqual(['s/d1/temp_high', 's/d2/temp_high']);
    // d2 came back meanwhile: what is handed over the second time no longer holds its temperature
    a.apply(toChange({ site: 's', device: 'd2', rule: 'device_silent', status: 'false', metric: 'x' }, 3));
    b.adopt(handOver(a, 's'));
    expect(b.inhibition.held().map((h) => h.key)).toEqual(['s/d1/temp_high']);
    expect(b.inhibition.inhibitors().map((i) => i.key)).toEqual(['s/d1/device_silent']);
  });

  it('adopting replaces what the book held of those alarms', () => {
    const a = book();
    a.apply(change('s', 0, 'yellow'));
    const b = book();
    b.adopt(handOver(a, 's'));
    b.adopt(handOver(a, 's'));
    expect(b.list({ state: 'all' })).toHaveLength(1);
  });

  it('a resolved alarm in what is handed over is not taken, nor its history', () => {
    const a = book();
    const id = a.apply(change('s', 0, 'yellow'))[0]?.alarm.id as string;
    a.apply(change('s', 1, null));
    a.resolve(id, 'op', null, 2);
    const snapshot = a.snapshot();
    const b = book();
    b.adopt({ alarms: snapshot.alarms, history: snapshot.history, flaps: [] });
    expect(b.list({ state: 'all' })).toEqual([]);
    expect(b.history(id)).toEqual([]);
    expect(b.apply(change('s', 3, 'yellow')).map((t) => [t.type, t.alarm.id === id])).toEqual([['alarm.raised', false]]);
  });

  it('a flapping alarm goes on flapping on the new owner and ends when quiet; a record without its alarm is not taken', () => {
    const flappy = () => {
      let m = 0;
      return createAlarmBook({ newAlarmId: () => `flap_${++m}`, flapping: { transitions: 1, windowMs: 10_000 } });
    };
    const a = flappy();
    a.apply(change('s', 0, 'yellow'));
    expect(a.apply(change('s', 1, null)).map((t) => t.type)).toEqual(['alarm.cleared', 'alarm.flapping']);
    // back while flapping: raised (a hazard is not shown gone); its clear is held
    expect(a.apply(change('s', 2, 'yellow')).map((t) => t.type)).toEqual(['alarm.raised']);
    expect(a.apply(change('s', 3, null))).toEqual([]);
    const b = flappy();
    b.adopt(handOver(a, 's'));
    expect(b.nextDueAt()).toBe(10_003);
    expect(b.tick(10_003).map((t) => t.type)).toEqual(['alarm.unflapped', 'alarm.cleared']);

    // the record of a key whose alarm was resolved: the next raise there counts afresh
    const stale: FlapRecord = { times: [0, 1], up: false, lastChangeAt: null, latent: null };
    const c = flappy();
    c.adopt({ alarms: [], history: [], flaps: [['s/d/r', stale]] });
    expect(c.flapOf('s/d/r')).toBeUndefined();
    expect(c.apply(change('s', 2, 'yellow')).map((t) => t.type)).toEqual(['alarm.raised']);
  });
});
