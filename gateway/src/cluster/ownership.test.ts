import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownerOf, ownersOf } from './ownership.js';

const nodeIds = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 1, maxLength: 8 });
const siteIds = fc.uniqueArray(fc.stringMatching(/^[a-z0-9_-]{1,16}$/), { minLength: 1, maxLength: 40 });

describe('site ownership (rendezvous hashing)', () => {
  it('gives every site exactly one live owner, the same whatever the order of the member list', () => {
    fc.assert(
      fc.property(nodeIds, siteIds, (nodes, sites) => {
        const reversed = [...nodes].reverse();
        for (const site of sites) {
          const owner = ownerOf(site, nodes);
          expect(nodes).toContain(owner);
          expect(ownerOf(site, reversed)).toBe(owner);
        }
      }),
    );
  });

  it('moves only the sites of a node that leaves, and only to the nodes that remain', () => {
    fc.assert(
      fc.property(
        nodeIds.filter((nodes) => nodes.length >= 2),
        siteIds,
        fc.nat(),
        (nodes, sites, pick) => {
          const gone = nodes[pick % nodes.length] as string;
          const remaining = nodes.filter((node) => node !== gone);
          const before = ownersOf(sites, nodes);
          const after = ownersOf(sites, remaining);
          for (const site of sites) {
            if (before.get(site) !== gone) expect(after.get(site)).toBe(before.get(site));
            else expect(remaining).toContain(after.get(site));
          }
        },
      ),
    );
  });

  it('a joining node takes sites only for itself, about its share of them', () => {
    const sites = Array.from({ length: 3_000 }, (_, i) => `site-${i}`);
    const nodes = ['node-a', 'node-b'];
    const before = ownersOf(sites, nodes);
    const after = ownersOf(sites, [...nodes, 'node-c']);
    let moved = 0;
    for (const site of sites) {
      if (after.get(site) === before.get(site)) continue;
      expect(after.get(site)).toBe('node-c');
      moved += 1;
    }
    // a third of 3,000 is 1,000; a fair hash stays well within ±10 %
    expect(moved).toBeGreaterThan(900);
    expect(moved).toBeLessThan(1_100);
  });

  it('spreads sites evenly over the nodes', () => {
    const sites = Array.from({ length: 6_000 }, (_, i) => `plant-${i}`);
    const counts = new Map<string, number>();
    for (const owner of ownersOf(sites, ['a', 'b', 'c']).values()) counts.set(owner as string, (counts.get(owner as string) ?? 0) + 1);
    for (const node of ['a', 'b', 'c']) expect(Math.abs((counts.get(node) ?? 0) - 2_000)).toBeLessThan(200);
  });

  it('has no owner when no node is alive', () => {
    expect(ownerOf('site-a', [])).toBeNull();
  });
});
