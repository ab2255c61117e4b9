import { createHash } from 'node:crypto';

/** A node's weight for one key: the first 48 bits of SHA-256 of `node \0 key` (the same on every node, every run). */
function weight(node: string, key: string): number {
  return createHash('sha256').update(node).update('\u0000').update(key).digest().readUIntBE(0, 6);
}

/**
 * The owner of `key` (a site) among the live `nodes`, by rendezvous (highest-random-weight) hashing: every node
 * computes the same owner from the same member list without asking anyone, and when a node leaves only its keys
 * move (to the node that ranks next for each), when one joins it takes about 1/n of the keys from the others.
 * Ties (astronomically rare) go to the smaller node id. Null when there is no live node.
 */
export function ownerOf(key: string, nodes: readonly string[]): string | null {
  let best: string | null = null;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = weight(node, key);
    if (w > bestWeight || (w === bestWeight && best !== null && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/** The owner of each key, by key. */
export function ownersOf(keys: Iterable<string>, nodes: readonly string[]): Map<string, string | null> {
  const owners = new Map<string, string | null>();
  for (const key of keys) owners.set(key, ownerOf(key, nodes));
  return owners;
}
