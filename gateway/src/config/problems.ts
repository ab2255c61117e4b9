import { type Document, isCollection, LineCounter } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../../../rules/src/index.js';

/** One problem of a file the gateway loads, as operators read it: `file:line path: message`. */
export interface FileProblem {
  file: string;
  line: number | null;
  path: string;
  message: string;
}

/** `rules[3].levels.orange.raise`: one way to write a path, shared with the rule files. */
export { formatPath };

/** The 1-based line of a path in a YAML document, or of its nearest existing parent. */
export function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | null {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true) as { range?: [number, number, number] } | undefined;
    const offset = node && typeof node === 'object' && 'range' in node ? node.range?.[0] : undefined;
    if (offset !== undefined) return lines.linePos(offset).line;
    if (depth === 0 && isCollection(doc.contents)) return lines.linePos(doc.contents.range?.[0] ?? 0).line;
  }
  return null;
}

export function problemsFromZod(error: z.ZodError, file: string, locate?: (path: readonly PropertyKey[]) => number | null): FileProblem[] {
  return error.issues.map((issue) => ({
    file,
    line: locate ? locate(issue.path) : null,
    path: formatPath(issue.path) || '(root)',
    message: issue.message,
  }));
}

export function renderProblem(problem: FileProblem): string {
  const where = problem.line === null ? problem.file : `${problem.file}:${problem.line}`;
  return `${where}: ${problem.path}: ${problem.message}`;
}

export { LineCounter };
