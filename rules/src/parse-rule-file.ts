import { type Document, isCollection, isScalar, LineCounter, parseDocument } from 'yaml';
import { PROTO_KEY_MESSAGE, protoKeyPaths } from './own.js';
import { type RuleFile, ruleFileSchema } from './rule-set.js';
import { yamlTree } from './yaml-tree.js';

/** One problem of a rule file, located for a person: `rules/dust.yaml:31 rules[3].levels.orange.raise: expected number`. */
export interface RuleFileProblem {
  file: string;
  line: number | null;
  column: number | null;
  /** Path inside the file, as `rules[3].levels.orange.raise`. */
  path: string;
  message: string;
}

export type ParsedRuleFile = { ok: true; file: RuleFile } | { ok: false; problems: RuleFileProblem[] };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

export function formatProblem(p: RuleFileProblem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}${p.column === null ? '' : `:${p.column}`}`;
  return `${where} ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/** The node at `path`, or the deepest existing ancestor (a missing key is reported where its parent is). */
function rangeOf(doc: Document, path: readonly PropertyKey[]): [number, number] | null {
  let node: unknown = doc.contents;
  let range: [number, number] | null = null;
  const take = (n: unknown): void => {
    const r = (n as { range?: [number, number, number] } | null)?.range;
    if (r) range = [r[0], r[1]];
  };
  take(node);
  for (const key of path) {
    if (!isCollection(node)) break;
    const next = node.get(key as never, true);
    if (next === undefined) break;
    node = next;
    take(isScalar(node) || isCollection(node) ? node : null);
  }
  return range;
}

/**
 * Parses and validates one rule file's text (pure: reading the file is the caller's business). Returns
 * the file, or every problem with its line, column and path: YAML syntax errors and schema violations.
 */
export function parseRuleFile(text: string, fileName: string): ParsedRuleFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | null): { line: number | null; column: number | null } => {
    if (offset === null) return { line: null, column: null };
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({ file: fileName, ...at(e.pos[0]), path: '', message: e.message.split('\n')[0] ?? e.message })),
    };
  }
  const data = yamlTree(doc);
  if (!data.ok) return { ok: false, problems: [{ file: fileName, line: null, column: null, path: '', message: data.message }] };
  const tree = data.tree;
  const protoKeys = protoKeyPaths(tree);
  if (protoKeys.length > 0) {
    return {
      ok: false,
      problems: protoKeys.map((path) => {
        const range = rangeOf(doc, path);
        return { file: fileName, ...at(range ? range[0] : null), path: formatPath(path), message: PROTO_KEY_MESSAGE };
      }),
    };
  }
  const parsed = ruleFileSchema.safeParse(tree);
  if (parsed.success) return { ok: true, file: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const range = rangeOf(doc, issue.path);
      return { file: fileName, ...at(range ? range[0] : null), path: formatPath(issue.path), message: issue.message };
    }),
  };
}
