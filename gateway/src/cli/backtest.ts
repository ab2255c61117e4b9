import { readFileSync } from 'node:fs';
import {
  type BacktestDifference,
  backtest,
  buildRuleSet,
  type DeviceContext,
  formatProblem,
  type MetricValue,
  parseRuleFile,
  type Reading,
  type RuleFile,
  type RuleSet,
} from '../../../rules/src/index.js';

const USAGE = `usage: npm run backtest -- <recording.ndjson> --current <rules.yaml>... --candidate <rules.yaml>... [--devices <devices.json>] [--tail 1h] [--json]

Replays recorded telemetry (NDJSON of {topic, payload, receivedAt}) through the current and a candidate
rule set in virtual time and prints the difference in alarms. Payload metrics are used as sent (no unit
conversion). --devices: a JSON array of {site, device, profile, attributes}; otherwise devices get the
profile given by --profile (default: the first rule file's profile) and no attributes.`;

const TOPIC = /^sites\/([A-Za-z0-9_-]{1,64})\/devices\/([A-Za-z0-9_-]{1,64})\/telemetry$/;

function ruleSet(paths: string[]): RuleSet {
  const files: RuleFile[] = [];
  for (const path of paths) {
    const parsed = parseRuleFile(readFileSync(path, 'utf8'), path);
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    files.push(parsed.file);
  }
  const built = buildRuleSet(files);
  if (!built.ok) throw new Error(built.problems.join('\n'));
  return built.set;
}

const toMs = (ts: unknown, fallback: number): number => (typeof ts === 'number' ? ts : typeof ts === 'string' ? Date.parse(ts) : fallback);

function readRecording(path: string, profileOf: (site: string, device: string) => string): Reading[] {
  const out: Reading[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const record = JSON.parse(line) as { topic: string; payload: unknown; receivedAt: number | string };
    const match = TOPIC.exec(record.topic);
    if (!match) continue;
    const [, site, device] = match as unknown as [string, string, string];
    const receivedAt = toMs(record.receivedAt, 0);
    const payload = (typeof record.payload === 'string' ? JSON.parse(record.payload) : record.payload) as {
      ts?: number | string;
      seq?: number;
      metrics?: Record<string, MetricValue>;
      readings?: Array<{ ts?: number | string; seq?: number; metrics: Record<string, MetricValue> }>;
    };
    const items = payload.readings ?? [payload];
    for (const item of items) {
      if (!item.metrics) continue;
      out.push({
        site,
        device,
        profile: profileOf(site, device),
        ts: toMs(item.ts, receivedAt),
        receivedAt,
        seq: item.seq,
        metrics: item.metrics,
      });
    }
  }
  return out;
}

const iso = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toISOString());

function describe(d: BacktestDifference): string {
  switch (d.type) {
    case 'only_current':
      return `- ${d.key}  raised ${iso(d.episode.raisedAt)} ${d.episode.maxSeverity}, only with the current rules`;
    case 'only_candidate':
      return `+ ${d.key}  raised ${iso(d.episode.raisedAt)} ${d.episode.maxSeverity}, only with the candidate rules`;
    case 'severity':
      return `~ ${d.key}  severity ${d.current.maxSeverity} → ${d.candidate.maxSeverity} (raised ${iso(d.current.raisedAt)})`;
    case 'timing':
      return `~ ${d.key}  raised ${d.raisedDeltaMs >= 0 ? '+' : ''}${d.raisedDeltaMs / 1000} s, cleared ${d.clearedDeltaMs === null ? (d.current.clearedAt === null ? 'now' : 'no longer') : `${d.clearedDeltaMs >= 0 ? '+' : ''}${d.clearedDeltaMs / 1000} s`}`;
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const current: string[] = [];
  const candidate: string[] = [];
  let recording: string | null = null;
  let devicesFile: string | null = null;
  let profile: string | null = null;
  let tail = '0';
  let json = false;
  let list: string[] | null = null;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i] as string;
    if (arg === '--current') list = current;
    else if (arg === '--candidate') list = candidate;
    else if (arg === '--devices') devicesFile = args[++i] ?? null;
    else if (arg === '--profile') profile = args[++i] ?? null;
    else if (arg === '--tail') tail = args[++i] ?? '0';
    else if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') list = null;
    else if (list) list.push(arg);
    else recording = arg;
  }
  if (!recording || current.length === 0 || candidate.length === 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  try {
    const currentSet = ruleSet(current);
    const candidateSet = ruleSet(candidate);
    const devices: DeviceContext[] = devicesFile ? (JSON.parse(readFileSync(devicesFile, 'utf8')) as DeviceContext[]) : [];
    const known = new Map(devices.map((d) => [`${d.site}/${d.device}`, d.profile]));
    const fallback = profile ?? [...currentSet.keys()][0] ?? 'unknown';
    const readings = readRecording(recording, (site, device) => known.get(`${site}/${device}`) ?? fallback);
    const tailMs = /^\d+$/.test(tail)
      ? Number(tail)
      : Number.parseFloat(tail) * ({ s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[tail.slice(-1)] ?? 1);
    const result = backtest(readings, currentSet, candidateSet, devices, { tailMs });
    if (json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      `${result.readings} readings (${result.late} late) from ${iso(result.from)} to ${iso(result.to)}\n` +
        `current: ${result.current.length} alarms, candidate: ${result.candidate.length} alarms, ${result.differences.length} differences\n`,
    );
    for (const d of result.differences) process.stdout.write(`${describe(d)}\n`);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}

main();
