import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface SelfTime {
  function: string;
  where: string;
  selfMs: number;
  percent: number;
}

/** Top self-time functions of a V8 `.cpuprofile` (`node --cpu-prof`), idle and GC shown as such. */
export function topSelfTime(file: string, top = 15, root = process.cwd()): { totalMs: number; functions: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, { where: string; name: string; us: number }>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const path = url.startsWith('file://') ? relative(root, new URL(url).pathname) : url;
    const where = path ? `${path}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const entry = selfUs.get(key) ?? { where, name, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
    if (name !== '(idle)') totalUs += delta;
  });
  const functions = [...selfUs.values()]
    .filter((entry) => entry.name !== '(idle)')
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((entry) => ({ function: entry.name, where: entry.where, selfMs: entry.us / 1000, percent: (100 * entry.us) / totalUs }));
  return { totalMs: totalUs / 1000, functions };
}
