import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PROFILE_IDS, PROFILES } from '../profiles/index.js';
import { type Expr, type NumberOrExpression, parseRuleFile, resolveNumber } from '../rules/src/index.js';
import { parseScenario, resolveScenarioPath } from '../simulators/src/index.js';
import { interpolate, namesOf, panelInterval, type TimeRange, type VariableValue } from './helpers/grafana-influxql.js';
import { playScenarioIntoInflux } from './helpers/scenario-influx.js';
import { freshDatabase } from './helpers/test-gateway.js';

/**
 * Every Grafana dashboard's InfluxDB queries, run against what the gateway really writes: each profile's simulated
 * plant played through a real gateway into the suite's influxd, then every panel and variable query of every
 * dashboard interpolated as Grafana would and run. Grafana itself does not run here; the Prometheus panels of the
 * overview are checked by metrics-exposition.test.ts.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DASHBOARDS_DIR = join(ROOT, 'dashboards/grafana/dashboards');
const INFLUX_UID = 'influxdb-risk';

/**
 * The plant behind each profile's dashboard: a shipped scenario (its alarms included), widened where a panel needs a
 * kind of device the scenario lacks, and made coarser in time where its expectations do not matter here.
 */
const FIXTURES: Record<string, { scenario: string; change(raw: any): void }> = {
  'dust-collector': {
    scenario: 'dust-collector-compound',
    change(raw) {
      raw.tick = '10s';
      raw.devices.push(
        { id: 'dc-05', site: 'plant-b', profile: 'dust-collector', attributes: { collector_type: 'wet' } },
        { id: 'dc-06', site: 'plant-b', profile: 'dust-collector', model: { inerted: true } },
      );
      raw.timeline.push(
        { at: '5m', for: '15m', device: 'dc-05', do: 'event', name: 'hydrogen', params: { rate: 3 } },
        { at: '25m', for: '10m', device: 'dc-05', do: 'event', name: 'water_loss' },
      );
    },
  },
  'deep-well-casting': {
    scenario: 'deep-well-casting-compound',
    change(raw) {
      raw.duration = '18m';
      raw.timeline = [
        { at: '15m', for: '3m', device: 'cast-01', do: 'event', name: 'interlock_fails' },
        { at: '15m', for: '3m', device: 'cast-01', do: 'event', name: 'pump_trip' },
      ];
      raw.devices.push({ id: 'cast-02', site: 'plant-c', profile: 'deep-well-casting', model: { firstCastAfterMin: 60 } });
    },
  },
  'confined-space': {
    scenario: 'confined-space-compound',
    change(raw) {
      raw.duration = '30m';
      raw.tick = '5s';
      raw.devices.push({ id: 'cs-02', site: 'plant-c', profile: 'confined-space', model: { co2: true, intervalMs: 10_000 } });
      raw.timeline.push({ at: '10m', for: '1m', device: 'cs-02', do: 'event', name: 'sludge_disturbed' });
    },
  },
  'mine-slope': {
    scenario: 'mine-slope-compound',
    change(raw) {
      raw.tick = '30m';
      raw.devices[0].model = { intervalMin: 30, gnssEveryMin: 30 };
    },
  },
  'tailings-dam': {
    scenario: 'tailings-dam-compound',
    change(raw) {
      raw.tick = '1h';
      raw.duration = '3d';
    },
  },
  power: {
    scenario: 'power-burst',
    change(raw) {
      raw.tick = '15m';
      raw.duration = '1d';
      raw.devices.push({
        id: 'pm-01',
        site: 'plant-a',
        profile: 'power',
        attributes: { declared_status: 'producing', p_idle_kw: 40, p_prod_kw: 400, contracted_kw: 630 },
      });
      raw.timeline.push({ at: '3h', for: '2h', device: 'pm-01', do: 'event', name: 'overload' });
    },
  },
};

interface Played {
  range: TimeRange;
  sites: string[];
  devices: string[];
}

interface InfluxSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

async function influxQuery(database: string, query: string): Promise<{ error?: string; series: InfluxSeries[] }> {
  const url = new URL('/query', inject('influxUrl'));
  url.search = new URLSearchParams({ db: database, q: query, epoch: 'ms' }).toString();
  const response = await fetch(url);
  const body = (await response.json()) as { error?: string; results?: Array<{ error?: string; series?: InfluxSeries[] }> };
  const result = body.results?.[0];
  const error = body.error ?? result?.error ?? (response.ok ? undefined : `HTTP ${response.status}`);
  return { ...(error ? { error } : {}), series: result?.series ?? [] };
}

/** Values of a series other than its time column. */
const valuesOf = (series: InfluxSeries): unknown[] =>
  series.values.flatMap((row) => row.filter((_, column) => series.columns[column] !== 'time'));

// ---------------------------------------------------------------------------------------------------------------
// The dashboards

interface Target {
  refId: string;
  query?: string;
  expr?: string;
  rawQuery?: boolean;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  interval?: string;
  maxDataPoints?: number;
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { thresholds?: { steps: Array<{ color: string; value: number | null }> } } };
}
interface Variable {
  name: string;
  type: string;
  query?: string;
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { type: string; uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: Variable[] };
}

const dashboardFiles = readdirSync(DASHBOARDS_DIR)
  .filter((file) => file.endsWith('.json'))
  .sort();
const dashboards = dashboardFiles.map((file) => ({
  file,
  /** `<profile>.json` is that profile's dashboard; any other is across profiles (the gateway overview). */
  profile: PROFILES.has(basename(file, '.json')) ? basename(file, '.json') : null,
  dashboard: JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard,
}));

const panelsOf = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...panelsOf(panel.panels ?? [])]);
const isInflux = (ds: { type: string; uid: string } | undefined, panel?: Panel): boolean => (ds ?? panel?.datasource)?.uid === INFLUX_UID;

interface DashboardQuery {
  where: string;
  query: string;
  minInterval?: string;
  maxDataPoints?: number;
}

function influxQueriesOf(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (!isInflux(target.datasource, panel)) continue;
      if (!target.rawQuery || !target.query)
        throw new Error(`panel "${panel.title}" ${target.refId}: only raw InfluxQL queries are checked`);
      queries.push({
        where: `panel "${panel.title}" ${target.refId}`,
        query: target.query,
        ...(panel.interval ? { minInterval: panel.interval } : {}),
        ...(panel.maxDataPoints ? { maxDataPoints: panel.maxDataPoints } : {}),
      });
    }
  }
  return queries;
}

// ---------------------------------------------------------------------------------------------------------------
// The profiles' rules, for the threshold lines

const RULES_DIR = join(ROOT, 'profiles');

interface Limit {
  rule: string;
  kind: string;
  metric: string;
  /** The metrics the rule's value comes from: the metric, or what its derived value reads. */
  reads: string[];
  raise: number;
}

/** Every level of every leveled rule of a profile, resolved with the profile's default attributes where it has them. */
function limitsOf(profileId: string): Limit[] {
  const profile = PROFILES.get(profileId);
  if (!profile) throw new Error(`no profile ${profileId}`);
  const path = join(RULES_DIR, profile.rulesFile);
  const parsed = parseRuleFile(readFileSync(path, 'utf8'), path);
  if (!parsed.ok) throw new Error(`${path} does not parse`);
  const defaults = profile.attributes.safeParse({});
  const attributes: Record<string, unknown> = defaults.success ? defaults.data : {};
  const env = { metric: () => undefined, attr: (name: string) => attributes[name] as number | undefined };
  const derived = new Map(parsed.file.derived.map((d) => [d.name, d.expression]));
  const limits: Limit[] = [];
  for (const rule of parsed.file.rules as Array<{
    id: string;
    kind: string;
    metric?: string;
    levels?: Record<string, { raise: NumberOrExpression }>;
  }>) {
    if (!rule.metric || !rule.levels) continue;
    const expression = derived.get(rule.metric);
    const reads = expression ? expression.metrics : [rule.metric];
    for (const level of Object.values(rule.levels)) {
      const raise = resolveNumber(level.raise, env);
      if (raise === null) continue;
      limits.push({ rule: rule.id, kind: rule.kind, metric: rule.metric, reads, raise });
      // a level on abs(metric − attr.setpoint) is crossed at set-point ± raise on the metric itself
      const offSetpoint = expression && setpointDeviation(expression.ast);
      const setpoint = offSetpoint ? attributes[offSetpoint.attr] : undefined;
      if (offSetpoint && typeof setpoint === 'number') {
        for (const line of [setpoint - raise, setpoint + raise])
          limits.push({ rule: rule.id, kind: rule.kind, metric: offSetpoint.metric, reads, raise: line });
      }
    }
  }
  return limits;
}

function setpointDeviation(e: Expr): { metric: string; attr: string } | null {
  if (e.k !== 'call' || e.fn !== 'abs' || e.args.length !== 1) return null;
  const inner = e.args[0] as Expr;
  if (inner.k !== 'arith' || inner.op !== '-' || inner.a.k !== 'ref' || inner.b.k !== 'ref') return null;
  return !inner.a.attr && inner.b.attr ? { metric: inner.a.name, attr: inner.b.name } : null;
}

const same = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
/** Functions whose result is the metric's own value (a plain line of it), not a rate, a rolling window or a sum. */
const PLAIN = /^(mean|median|min|max|last|first|sum)\("(\w+)"\)$/;

// ---------------------------------------------------------------------------------------------------------------

describe('Grafana dashboards against what the gateway writes (InfluxDB 1.x)', () => {
  const database = freshDatabase();
  const played = new Map<string, Played>();
  let allRange: TimeRange;
  let tagKeys: Record<string, string[]>;
  let fieldKeys: Record<string, string[]>;

  beforeAll(async () => {
    await Promise.all(
      Object.entries(FIXTURES).map(async ([profile, fixture]) => {
        const raw = parse(readFileSync(resolveScenarioPath(fixture.scenario), 'utf8'));
        fixture.change(raw);
        raw.expect = [];
        const scenario = parseScenario(stringify(raw), `${fixture.scenario} (dashboard fixture)`);
        const { run } = await playScenarioIntoInflux(scenario, { database });
        played.set(profile, {
          range: { from: run.start, to: run.end },
          sites: [...new Set(scenario.devices.map((d) => d.site))].sort(),
          devices: scenario.devices.map((d) => d.id).sort(),
        });
      }),
    );
    const ranges = [...played.values()].map((p) => p.range);
    allRange = { from: Math.min(...ranges.map((r) => r.from)), to: Math.max(...ranges.map((r) => r.to)) };
    tagKeys = {};
    fieldKeys = {};
    for (const measurement of ['telemetry', 'alarm_events']) {
      const tags = await influxQuery(database, `SHOW TAG KEYS FROM "${measurement}"`);
      const fields = await influxQuery(database, `SHOW FIELD KEYS FROM "${measurement}"`);
      tagKeys[measurement] = tags.series.flatMap((s) => s.values.map((v) => String(v[0])));
      fieldKeys[measurement] = fields.series.flatMap((s) => s.values.map((v) => String(v[0])));
    }
  }, 180_000);

  it('has a dashboard for every profile, each provisioned with the InfluxDB data source', () => {
    expect(PROFILE_IDS.filter((id) => !dashboardFiles.includes(`${id}.json`))).toEqual([]);
    const provisioning = join(ROOT, 'dashboards/grafana/provisioning');
    const datasources = parse(readFileSync(join(provisioning, 'datasources/datasources.yaml'), 'utf8')).datasources as Array<{
      uid: string;
      type: string;
    }>;
    expect(datasources).toContainEqual(expect.objectContaining({ uid: INFLUX_UID, type: 'influxdb' }));
    const known = new Map(datasources.map((d) => [d.uid, d.type]));
    // the provider reads the folder docker-compose.yml mounts dashboards/grafana/dashboards into
    const provider = parse(readFileSync(join(provisioning, 'dashboards/dashboards.yaml'), 'utf8')).providers[0];
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
    expect(compose.services.grafana.volumes).toContain(`./dashboards/grafana/dashboards:${provider.options.path}:ro`);
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, dashboard } of dashboards) {
      const sources = [
        ...panelsOf(dashboard.panels).flatMap((p) => [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)]),
        ...(dashboard.templating?.list ?? []).map((v) => v.datasource),
      ].filter((ds) => ds !== undefined);
      for (const ds of sources) expect(known.get(ds.uid), `${file}: data source ${ds.uid}`).toBe(ds.type);
    }
  });

  it('the fixtures wrote telemetry and alarm events with the tags of contract §7', () => {
    expect(tagKeys.telemetry?.sort()).toEqual(['device', 'profile', 'site']);
    expect(tagKeys.alarm_events?.sort()).toEqual(['device', 'profile', 'rule', 'severity', 'site', 'type']);
    expect(fieldKeys.alarm_events).toEqual(expect.arrayContaining(['alarm_id', 'seq', 'value', 'threshold', 'message']));
  });

  describe.each(dashboards)('$file', ({ file, profile, dashboard }) => {
    const metrics = profile
      ? Object.keys(PROFILES.get(profile)?.metrics ?? {})
      : [...new Set([...PROFILES.values()].flatMap((p) => Object.keys(p.metrics)))];
    const scope = profile ? `a metric of ${profile} (profiles/${profile}/metrics.ts)` : 'a metric of any profile';

    /** Every field and tag the query names is one the gateway writes on that measurement; a field is a metric of the profile. */
    function checkNames(where: string, query: string): void {
      const names = namesOf(query);
      const measurements = [...new Set(names.measurements)];
      expect(measurements.length, `${file} ${where}: one measurement per query (${query})`).toBe(1);
      const measurement = measurements[0] as string;
      expect(['telemetry', 'alarm_events'], `${file} ${where}: measurement "${measurement}"`).toContain(measurement);
      const tags = tagKeys[measurement] ?? [];
      const fields =
        measurement === 'telemetry' ? (fieldKeys.telemetry ?? []).filter((f) => metrics.includes(f)) : (fieldKeys[measurement] ?? []);
      for (const key of names.keys) {
        if (names.aliases.includes(key.name)) continue;
        if (key.clause === 'group' || key.clause === 'key') {
          expect(tags, `${file} ${where}: "${key.name}" (GROUP BY / WITH KEY) is not a tag the gateway writes on ${measurement}`).toContain(
            key.name,
          );
        } else if (!tags.includes(key.name)) {
          const what =
            measurement === 'telemetry' ? `${scope} that the gateway wrote` : `a field or tag the gateway writes on ${measurement}`;
          expect(fields, `${file} ${where}: "${key.name}" is not ${what}`).toContain(key.name);
        }
      }
      if (profile) expect(names.equals.profile, `${file} ${where}: must filter "profile" = '${profile}'`).toEqual([profile]);
    }

    let range: TimeRange;
    let expectedDevices: string[];
    const variables: Record<string, VariableValue> = {};

    beforeAll(async () => {
      const own = profile ? played.get(profile) : undefined;
      range = own?.range ?? allRange;
      expectedDevices = own?.devices ?? [...played.values()].flatMap((p) => p.devices).sort();
      for (const variable of dashboard.templating?.list ?? []) {
        if (variable.type !== 'query' || !isInflux(variable.datasource))
          throw new Error(`${file}: variable ${variable.name} is not an InfluxDB query`);
        const query = interpolate(variable.query ?? '', { range, intervalMs: 60_000, variables });
        const result = await influxQuery(database, query);
        expect(result.error, `${file} variable $${variable.name}: ${query}`).toBeUndefined();
        const values = result.series.flatMap((s) => s.values.map((v) => String(v[1])));
        variables[variable.name] = { values, regex: Boolean(variable.multi || variable.includeAll) };
      }
    });

    it('lays its panels out on the 24-column grid without overlaps, with unique ids', () => {
      const taken = new Map<string, string>();
      const panels = panelsOf(dashboard.panels);
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      for (const panel of panels) {
        const { x, y, w, h } = panel.gridPos;
        expect(x + w, `panel "${panel.title}"`).toBeLessThanOrEqual(24);
        for (let col = x; col < x + w; col += 1)
          for (let row = y; row < y + h; row += 1) {
            const other = taken.get(`${col},${row}`);
            expect(other, `panel "${panel.title}" overlaps "${other}"`).toBeUndefined();
            taken.set(`${col},${row}`, panel.title);
          }
      }
    });

    it('variables list the sites and devices of its profile only', () => {
      const names = (dashboard.templating?.list ?? []).map((v) => v.name);
      expect(names).toEqual(expect.arrayContaining(['site', 'device']));
      for (const variable of dashboard.templating?.list ?? []) {
        checkNames(`variable $${variable.name}`, interpolate(variable.query ?? '', { range, intervalMs: 60_000, variables }));
      }
      expect(variables.device?.values.sort()).toEqual(expectedDevices);
      if (profile) expect(variables.site?.values.sort()).toEqual(played.get(profile)?.sites);
    });

    const queries = influxQueriesOf(dashboard);
    it.each(queries)(
      '$where names only what the gateway writes, and returns data for "All"',
      async ({ where, query, minInterval, maxDataPoints }) => {
        const intervalMs = panelInterval(range, { ...(minInterval ? { minInterval } : {}), ...(maxDataPoints ? { maxDataPoints } : {}) });
        const sent = interpolate(query, { range, intervalMs, variables });
        checkNames(where, sent);
        const result = await influxQuery(database, sent);
        expect(result.error, `${file} ${where}: ${sent}`).toBeUndefined();
        expect(result.series.length, `${file} ${where} returned no series: ${sent}`).toBeGreaterThan(0);
        expect(
          result.series.some((s) => valuesOf(s).some((v) => v !== null)),
          `${file} ${where} returned only nulls: ${sent}`,
        ).toBe(true);
        for (const series of result.series) {
          if (series.tags?.device !== undefined && !series.tags.device.startsWith('_')) {
            expect(expectedDevices, `${file} ${where}: series of another profile's device`).toContain(series.tags.device);
          }
        }
        // one device or site at a time (a single selection is not wrapped in a group) must parse as well
        for (const name of ['site', 'device']) {
          const first = variables[name]?.values[0];
          if (!first || !query.includes(`$${name}`)) continue;
          const single = interpolate(query, { range, intervalMs, variables: { ...variables, [name]: { values: [first], regex: true } } });
          expect((await influxQuery(database, single)).error, `${file} ${where} with ${name} = ${first}: ${single}`).toBeUndefined();
        }
      },
    );

    if (!profile) return;

    it("threshold lines are the levels of the profile's rules.yaml, and every fixed threshold level is drawn", () => {
      const limits = limitsOf(profile);
      const problems: string[] = [];
      /** metric → raise values drawn on a panel that plots the metric's own value */
      const drawn = new Map<string, number[]>();
      for (const panel of panelsOf(dashboard.panels)) {
        const steps = (panel.fieldConfig?.defaults?.thresholds?.steps ?? []).flatMap((s) => (s.value === null ? [] : [s.value]));
        const selects = (panel.targets ?? []).map((t) => /^SELECT (.*?) FROM "telemetry"/.exec(t.query ?? '')?.[1]);
        const reads = new Set(
          (panel.targets ?? []).flatMap((t) => namesOf(t.query ?? '').keys.map((k) => k.name)).filter((n) => metrics.includes(n)),
        );
        for (const value of steps) {
          const explained = limits.some((l) => same(l.raise, value) && (reads.has(l.metric) || l.reads.some((m) => reads.has(m))));
          if (!explained)
            problems.push(`panel "${panel.title}": threshold ${value} is no level of a rule on ${[...reads].join(', ') || 'its metrics'}`);
        }
        for (const select of selects) {
          const metric = select && PLAIN.exec(select)?.[2];
          if (metric) drawn.set(metric, [...(drawn.get(metric) ?? []), ...steps]);
        }
      }
      for (const limit of limits) {
        if (limit.kind !== 'threshold' || limit.reads[0] !== limit.metric || !metrics.includes(limit.metric)) continue;
        const lines = drawn.get(limit.metric);
        if (!lines) problems.push(`${limit.metric} has a threshold rule (${limit.rule} at ${limit.raise}) but no panel plots it`);
        else if (!lines.some((v) => same(v, limit.raise)))
          problems.push(`no panel of ${limit.metric} draws ${limit.rule} at ${limit.raise}`);
      }
      expect(problems.join('\n'), 'threshold lines against rules.yaml').toBe('');
    });
  });
});
