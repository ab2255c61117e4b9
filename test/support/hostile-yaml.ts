/** YAML that parses, and is hostile to whatever reads it as data: for the config and rule files' loaders. */

/** A billion laughs: nine levels of ten aliases each, far beyond any budget of alias expansion (top-level keys a…j). */
export const aliasBomb = (): string =>
  [
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...'bcdefghij'.split('').map((name, i) => `${name}: &${name} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(', ')}]`),
  ].join('\n');

/** A mapping whose alias stands inside the node it names (`x.y` is `x`): a structure without end. */
export const aliasInsideItself = 'x: &x\n  y: *x\n';

/** `depth` nested flow sequences around one scalar. */
export const deeplyNested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
