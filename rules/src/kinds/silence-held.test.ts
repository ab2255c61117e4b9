import { describe, expect, it } from 'vitest';
import { harness } from '../../test-support/harness.js';

const S = 1_000;
const RULES = `
profile: p
rules:
  - { id: quiet, kind: silence, ladder: [{ after: 15s, severity: yellow }, { after: 1m, severity: red }], source: t }
  - { id: no_h2s, kind: silence, metric: h2s, ladder: [{ after: 30s, severity: orange }], source: t }
`;

describe('silence and publishes the gateway held (RuleEngine.held)', () => {
  it('counts the device heard until its held publishes were judged, for what they carried', () => {
    const h = harness(RULES);
    h.read(0, { h2s: 1 }, 0);
    // arrived at 20 s with temperature only, judged at 40 s: the lane was behind
    h.read(20 * S, { temp: 30 }, 20 * S);
    h.engine.held([{ site: 's', device: 'd', since: 20 * S, until: 40 * S }]);
    // quiet was fed by the held publish: it counts from 40 s (yellow at 55 s, not 35 s)
    expect(h.advanceTo(54_999)).toEqual([expect.objectContaining({ rule: 'no_h2s', at: 30 * S })]);
    expect(h.state('quiet')).toBe('false');
    expect(h.advanceTo(55 * S).map((c) => [c.rule, c.at])).toEqual([['quiet', 55 * S]]);
    // no_h2s was not (no h2s in it): it went orange at 30 s, as without the hold
    expect(h.state('no_h2s')).toBe('orange');
    // and the ladder goes on from the same start: red 1 min after 40 s
    expect(h.advanceTo(100 * S).map((c) => [c.rule, c.verdict.status, c.at])).toEqual([['quiet', 'true', 100 * S]]);
    expect(h.state('quiet')).toBe('red');
  });

  it('gives no credit to a clock that no held publish fed, however many holds follow one another', () => {
    const h = harness(RULES);
    h.read(0, { h2s: 1 }, 0);
    // temperature every second, each held half a second, told at every tick: h2s never comes again
    const raised: Array<[string, number]> = [];
    for (let t = 1; t <= 40; t += 1) {
      h.read(t * S - 500, { temp: 30 }, t * S - 500);
      h.engine.held([{ site: 's', device: 'd', since: t * S - 500, until: t * S }]);
      for (const c of h.tick(t * S)) raised.push([c.rule, c.at]);
    }
    // no_h2s goes orange on time; quiet, fed by every held publish, never
    expect(raised).toEqual([['no_h2s', 30 * S]]);
    expect(h.state('quiet')).toBe('false');
  });

  it('does not move a clock that an arrival after the hold already moved further, nor one of another device', () => {
    const h = harness(RULES);
    h.read(0, { h2s: 1 }, 0);
    h.read(10 * S, { h2s: 2 }, 10 * S);
    h.engine.held([
      { site: 's', device: 'd', since: 2 * S, until: 5 * S },
      { site: 's', device: 'other', since: 0, until: 60 * S },
    ]);
    expect(h.advanceTo(24_999)).toEqual([]);
    expect(h.advanceTo(25 * S).map((c) => [c.rule, c.at])).toEqual([['quiet', 25 * S]]);
  });

  it('does not count a hold that began after the last arrival: a device silent before it stays silent', () => {
    const h = harness(RULES);
    h.read(0, { h2s: 1 }, 0);
    // its held publishes were all refused (nothing arrived that counts): the hold from 10 s says nothing of it
    h.engine.held([{ site: 's', device: 'd', since: 10 * S, until: 14 * S }]);
    expect(h.advanceTo(15 * S).map((c) => [c.rule, c.at])).toEqual([['quiet', 15 * S]]);
  });

  it('is kept in the snapshot: a restart goes on from the moved clock', () => {
    const h = harness(RULES);
    h.read(0, { h2s: 1 }, 0);
    h.engine.held([{ site: 's', device: 'd', since: 0, until: 8 * S }]);
    const again = harness(RULES);
    again.engine.restore(h.engine.snapshot(), 8 * S, 0);
    expect(again.advanceTo(22_999).filter((c) => c.rule === 'quiet')).toEqual([]);
    expect(
      again
        .advanceTo(23 * S)
        .filter((c) => c.rule === 'quiet')
        .map((c) => c.at),
    ).toEqual([23 * S]);
  });

  it('counts a device whose CONNECT the gateway held as heard until it was let in, for every clock; a publish hold the same span gives none', () => {
    const connecting = harness(RULES);
    connecting.read(0, { h2s: 1 }, 0);
    // a link blip at 5 s; the CONNECT came back at 6 s and was held until 13 s (the lane was behind)
    connecting.engine.held([{ site: 's', device: 'd', since: 6 * S, until: 13 * S, connecting: true }]);
    expect(connecting.advanceTo(27_999)).toEqual([]);
    expect(connecting.advanceTo(43 * S).map((c) => [c.rule, c.at])).toEqual([
      ['quiet', 28 * S],
      ['no_h2s', 43 * S],
    ]);
    const publishes = harness(RULES);
    publishes.read(0, { h2s: 1 }, 0);
    publishes.engine.held([{ site: 's', device: 'd', since: 6 * S, until: 13 * S }]);
    expect(publishes.advanceTo(15 * S).map((c) => [c.rule, c.at])).toEqual([['quiet', 15 * S]]);
  });
});
