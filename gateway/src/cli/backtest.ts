import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { PROFILES } from '../../../profiles/index.js';
import {
  type BacktestDifference,
  backtest,
  buildRuleSet,
  type DeviceContext,
  formatProblem,
  type MetricValue,
  parseDuration,
  parseRuleFile,
  type Reading,
  type RuleFile,
  type RuleSet,
} from '../../../rules/src/index.js';
import { profileKnowledge } from '../rule-files/profile-engine.js';
import { withUsageExit } from './usage-exit.js';

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

const durationArg = (value: string): number => {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = parseDuration(value);
  if (ms === null) throw new InvalidArgumentError('expected a duration such as 30s, 10m, 1h (or milliseconds)');
  return ms;
};

function main(): void {
  const program = withUsageExit(new Command())
    .name('backtest')
    .description(
      'Replays recorded telemetry (NDJSON of {topic, payload, receivedAt}, as recording.enabled writes it) through the ' +
        'current and a candidate rule set in virtual time and prints the difference in alarms. Payload metrics are used ' +
        'as sent (no unit conversion).',
    )
    .argument('<recording>', 'the recording (NDJSON)')
    .requiredOption('--current <rules.yaml...>', 'the rule files in force now (one or more)')
    .requiredOption('--candidate <rules.yaml...>', 'the rule files to compare (one or more)')
    .option('--devices <devices.json>', 'a JSON array of {site, device, profile, attributes}')
    .option('--profile <id>', "the profile of devices not in --devices (default: the first rule file's profile)")
    .option('--tail <duration>', 'keep evaluating this long after the last reading (timers: on-delays, silence)', durationArg, 0)
    .option('--json', 'print the whole result as JSON')
    .addHelpText(
      'after',
      `
Example:
  npm run backtest -- data/recording.ndjson --current profiles/dust-collector/rules.yaml --candidate my-rules.yaml --tail 1h

Exit status: 0 compared (differences or not), 1 a file could not be read or is invalid, 2 invalid arguments.`,
    )
    .parse();
  const [recording] = program.args as [string];
  const options = program.opts<{
    current: string[];
    candidate: string[];
    devices?: string;
    profile?: string;
    tail: number;
    json?: boolean;
  }>();
  try {
    const currentSet = ruleSet(options.current);
    const candidateSet = ruleSet(options.candidate);
    const devices: DeviceContext[] = options.devices ? (JSON.parse(readFileSync(options.devices, 'utf8')) as DeviceContext[]) : [];
    const known = new Map(devices.map((d) => [`${d.site}/${d.device}`, d.profile]));
    const fallback = options.profile ?? [...currentSet.keys()][0] ?? 'unknown';
    const readings = readRecording(recording, (site, device) => known.get(`${site}/${device}`) ?? fallback);
    // Replayed as the gateway judges: with the profiles' units, ranges and cadences.
    const result = backtest(readings, currentSet, candidateSet, devices, { ...profileKnowledge(PROFILES), tailMs: options.tail });
    if (options.json) {
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
