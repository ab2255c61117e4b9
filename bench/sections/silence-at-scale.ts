/**
 * Section 5, in a process of its own: 100k devices (sites of 50) in the rule engine with a silence rule
 * (yellow after 10 s without data), each sending one reading at a real-time moment spread over a few
 * seconds; the engine is ticked every 250 ms of wall clock, as the gateway does, and its verdict changes
 * go through the alarm book. Detection error = when the tick that raised a device's alarm returned −
 * (its last reading + 10 s). CPU per tick from process.cpuUsage.
 */
import { createAlarmBook, createRuleEngine, type DeviceContext, parseRuleFile, ruleSetOf } from '../../rules/src/index.js';
import { childRuntime } from '../lib/child.js';
import { median, percentile, sleep } from '../lib/stats.js';

export interface SilenceArgs {
  devices: number;
  timeoutMs: number;
  tickMs: number;
  feedMs: number;
}

const runtime = childRuntime<SilenceArgs>();

function once(args: SilenceArgs) {
  const parsed = parseRuleFile(
    `profile: meter\nrules:\n  - { id: silent, kind: silence, ladder: [{ after: ${args.timeoutMs}ms, severity: yellow }], source: bench }\n`,
    'silence.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const engine = createRuleEngine({ rules: ruleSetOf([parsed.file]), unitOf: () => null });
  let alarmIds = 0;
  const book = createAlarmBook({ newAlarmId: () => `alm_${++alarmIds}`, flapping: false });
  const contexts: DeviceContext[] = Array.from({ length: args.devices }, (_, i) => ({
    site: `s${Math.floor(i / 50)}`,
    device: `m${i}`,
    profile: 'meter',
    attributes: {},
  }));
  const lastReading = new Float64Array(args.devices);
  const index = new Map(contexts.map((c, i) => [c.device, i]));
  const errors: number[] = [];
  const ticks: Array<{ wallMs: number; cpuMs: number; raised: number }> = [];
  let fed = 0;
  let raised = 0;

  return new Promise<Record<string, unknown>>((resolve) => {
    const perFeed = Math.ceil(args.devices / (args.feedMs / 50));
    const feeder = setInterval(() => {
      const now = Date.now();
      const end = Math.min(args.devices, fed + perFeed);
      for (; fed < end; fed += 1) {
        const context = contexts[fed] as DeviceContext;
        engine.onReading(
          { site: context.site, device: context.device, profile: 'meter', ts: now, receivedAt: now, metrics: { x: 1 } },
          context,
        );
        lastReading[fed] = now;
      }
      if (fed >= args.devices) clearInterval(feeder);
    }, 50);
    const deadline = Date.now() + args.feedMs + args.timeoutMs + 5_000;
    const ticker = setInterval(() => {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const changes = engine.tick(Date.now());
      let transitions = 0;
      transitions += book.applyAll(changes).length;
      const done = Date.now();
      const cpuUs = process.cpuUsage(cpu);
      let raisedNow = 0;
      for (const change of changes) {
        if (change.verdict.status !== 'true') continue;
        raisedNow += 1;
        errors.push(done - (lastReading[index.get(change.device) as number] as number) - args.timeoutMs);
      }
      raised += raisedNow;
      if (changes.length > 0 || transitions > 0)
        ticks.push({ wallMs: performance.now() - start, cpuMs: (cpuUs.user + cpuUs.system) / 1000, raised: raisedNow });
      if (raised >= args.devices || Date.now() > deadline) {
        clearInterval(ticker);
        clearInterval(feeder);
        resolve({
          devices: args.devices,
          raised,
          errorMs: { p50: percentile(errors, 50), p99: percentile(errors, 99), max: percentile(errors, 100), min: percentile(errors, 0) },
          busyTicks: ticks.length,
          cpuMsPerBusyTick: {
            median: median(ticks.map((t) => t.cpuMs)),
            max: percentile(
              ticks.map((t) => t.cpuMs),
              100,
            ),
          },
          wallMsPerBusyTick: {
            median: median(ticks.map((t) => t.wallMs)),
            max: percentile(
              ticks.map((t) => t.wallMs),
              100,
            ),
          },
          raisedPerBusyTick: median(ticks.map((t) => t.raised)),
        });
      }
    }, args.tickMs);
  });
}

/** An idle tick with 100k armed timers and none due: the cost every 250 ms in a quiet plant. */
function idleTickCost(args: SilenceArgs): number {
  const parsed = parseRuleFile(
    `profile: meter\nrules:\n  - { id: silent, kind: silence, ladder: [{ after: 15m, severity: yellow }], source: bench }\n`,
    'idle.yaml',
  );
  if (!parsed.ok) throw new Error('bad rule');
  const engine = createRuleEngine({ rules: ruleSetOf([parsed.file]), unitOf: () => null });
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < args.devices; i += 1)
    engine.registerDevice({ site: `s${Math.floor(i / 50)}`, device: `m${i}`, profile: 'meter', attributes: {} }, t0);
  const cpu = process.cpuUsage();
  for (let k = 1; k <= 1_000; k += 1) engine.tick(t0 + k * 250);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / 1_000;
}

runtime.serve({
  run: async () => {
    await sleep(100);
    return once(runtime.args);
  },
  idle: () => ({ cpuMsPerIdleTick: idleTickCost(runtime.args) }),
});
runtime.ready();
