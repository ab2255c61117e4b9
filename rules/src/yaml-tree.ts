import type { Document } from 'yaml';

/** A YAML document's data, or why it has none that can be checked. */
export type YamlTree = { ok: true; tree: unknown } | { ok: false; message: string };

/**
 * The plain data of a parsed YAML document. What the parser accepts may still be hostile: an alias bomb (the `yaml`
 * library refuses to expand more than its alias budget and throws), or an alias inside the node it names, which makes
 * a structure without end (walking it, checking it or substituting in it would never finish or overflow the stack).
 * Both are answered with a message, never thrown.
 */
export function yamlTree(doc: Document): YamlTree {
  let tree: unknown;
  try {
    tree = doc.toJS();
  } catch (error) {
    return { ok: false, message: `its aliases cannot be expanded: ${(error as Error).message}` };
  }
  if (hasCycle(tree)) return { ok: false, message: 'an alias (*name) stands inside the node it names: a structure without end' };
  return { ok: true, tree };
}

const isNode = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** Whether an object or array contains itself, at any depth (walked without recursion: nesting may be deep). */
function hasCycle(root: unknown): boolean {
  if (!isNode(root)) return false;
  /** The nodes from the root to the one being walked. */
  const path = new Set<object>();
  const stack: Array<{ node: object; leaving: boolean }> = [{ node: root, leaving: false }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    if (step.leaving) {
      path.delete(step.node);
      continue;
    }
    path.add(step.node);
    stack.push({ node: step.node, leaving: true });
    for (const child of Object.values(step.node)) {
      if (!isNode(child)) continue;
      if (path.has(child)) return true;
      stack.push({ node: child, leaving: false });
    }
  }
  return false;
}
