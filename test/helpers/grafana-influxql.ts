/**
 * What Grafana does to a raw InfluxQL query before it reaches InfluxDB 1.x, and what the query then names — so a
 * test can run a dashboard's queries against a real influxd and check every measurement, field and tag they use.
 * Covers what the dashboards in dashboards/grafana use; anything else is an error, never silently passed.
 */

export interface TimeRange {
  from: number;
  to: number;
}

/** A template variable's current selection: Grafana's "All" of a multi-value variable is every value. */
export interface VariableValue {
  values: string[];
  /** multi or includeAll: Grafana regex-escapes the values and joins several as `(a|b)`. */
  regex: boolean;
}

const INTERVAL_STEPS: ReadonlyArray<[below: number, ms: number]> = [
  [10, 1],
  [15, 10],
  [35, 20],
  [75, 50],
  [150, 100],
  [350, 200],
  [750, 500],
  [1_500, 1_000],
  [3_500, 2_000],
  [7_500, 5_000],
  [12_500, 10_000],
  [17_500, 15_000],
  [25_000, 20_000],
  [45_000, 30_000],
  [90_000, 60_000],
  [210_000, 120_000],
  [450_000, 300_000],
  [750_000, 600_000],
  [1_050_000, 900_000],
  [1_500_000, 1_200_000],
  [2_700_000, 1_800_000],
  [5_400_000, 3_600_000],
  [9_000_000, 7_200_000],
  [16_200_000, 10_800_000],
  [24_300_000, 21_600_000],
  [64_800_000, 43_200_000],
  [129_600_000, 86_400_000],
  [604_800_000, 604_800_000],
];
const UNITS: ReadonlyArray<[suffix: string, ms: number]> = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** Grafana's `rangeutil.roundInterval`: a raw interval rounded to a readable one. */
export function roundInterval(ms: number): number {
  for (const [below, rounded] of INTERVAL_STEPS) if (ms < below) return rounded;
  return 31_536_000_000;
}

/** `10m` → 600000 (Grafana's interval syntax; a leading `>` as in a data source's min interval is ignored). */
export function intervalToMs(text: string): number {
  const match = /^>?(\d+)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) throw new Error(`not a Grafana interval: "${text}"`);
  const unit = UNITS.find(([suffix]) => suffix === match[2]);
  return Number(match[1]) * (unit as [string, number])[1];
}

/** Milliseconds as Grafana writes an interval into a query (`30s`, `10m`, `1d`). */
export function msToInterval(ms: number): string {
  for (const [suffix, size] of UNITS) if (ms % size === 0) return `${ms / size}${suffix}`;
  return `${ms}ms`;
}

/**
 * `$__interval` of a panel: the range over the panel's data points, rounded, never below the panel's min interval
 * (`interval`) — Grafana's `rangeutil.calculateInterval`.
 */
export function panelInterval(range: TimeRange, options: { maxDataPoints?: number; minInterval?: string }): number {
  const rounded = roundInterval((range.to - range.from) / (options.maxDataPoints ?? 1_000));
  return options.minInterval ? Math.max(rounded, intervalToMs(options.minInterval)) : rounded;
}

/** Grafana's `escapeRegex` (the influx data source escapes `/` too: the values land inside `/…/`). */
const escapeRegex = (text: string): string => text.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

function formatVariable(name: string, value: VariableValue): string {
  if (!value.regex) {
    if (value.values.length !== 1)
      throw new Error(`variable $${name} is neither multi nor includeAll but has ${value.values.length} values`);
    return value.values[0] as string;
  }
  const escaped = value.values.map(escapeRegex);
  if (escaped.length === 0) throw new Error(`variable $${name} has no values`);
  return escaped.length === 1 ? (escaped[0] as string) : `(${escaped.join('|')})`;
}

/**
 * A raw InfluxQL query as Grafana's InfluxDB data source sends it: `$timeFilter`, `$__interval`, `$__interval_ms`,
 * `$interval` and the dashboard's variables (`$x`, `${x}`, `[[x]]`) replaced. An unknown `$name` throws.
 */
export function interpolate(
  query: string,
  context: { range: TimeRange; intervalMs: number; variables: Record<string, VariableValue> },
): string {
  const builtins: Record<string, string> = {
    timeFilter: `time >= ${context.range.from}ms and time <= ${context.range.to}ms`,
    __interval: msToInterval(context.intervalMs),
    interval: msToInterval(context.intervalMs),
    __interval_ms: String(context.intervalMs),
  };
  const replace = (whole: string, name: string): string => {
    if (name in builtins) return builtins[name] as string;
    const value = context.variables[name];
    if (!value) throw new Error(`${whole} is neither a dashboard variable nor a macro this test knows (in: ${query})`);
    return formatVariable(name, value);
  };
  return query
    .replace(/\$\{(\w+)(?::[^}]*)?\}/g, (whole, name: string) => {
      if (whole.includes(':')) throw new Error(`variable format ${whole} is not supported by this test`);
      return replace(whole, name);
    })
    .replace(/\[\[(\w+)\]\]/g, replace)
    .replace(/\$(\w+)/g, replace);
}

// ---------------------------------------------------------------------------------------------------------------
// What a query names

type TokenKind = 'ident' | 'word' | 'string' | 'regex' | 'number' | 'op' | 'variable';
interface Token {
  kind: TokenKind;
  text: string;
}

const KEYWORDS = new Set(
  (
    'select from where and or not group by order asc desc limit slimit offset soffset fill tz as show tag tags values key keys ' +
    'with field measurement measurements series in true false none null previous linear now'
  ).split(' '),
);

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const quoted = (quote: string): string => {
    let text = '';
    i += 1;
    while (i < query.length && query[i] !== quote) {
      if (query[i] === '\\' && i + 1 < query.length) {
        text += query[i + 1];
        i += 2;
      } else text += query[i++];
    }
    if (i >= query.length) throw new Error(`unterminated ${quote} in: ${query}`);
    i += 1;
    return text;
  };
  while (i < query.length) {
    const c = query[i] as string;
    const rest = query.slice(i);
    const previous = tokens[tokens.length - 1];
    if (/\s/.test(c)) i += 1;
    else if (c === '"') tokens.push({ kind: 'ident', text: quoted('"') });
    else if (c === "'") tokens.push({ kind: 'string', text: quoted("'") });
    else if (c === '/' && previous?.kind === 'op' && (previous.text === '=~' || previous.text === '!~')) {
      tokens.push({ kind: 'regex', text: quoted('/') });
    } else if (/^\$\w/.test(rest)) {
      const match = /^\$\w+/.exec(rest) as RegExpExecArray;
      tokens.push({ kind: 'variable', text: match[0] });
      i += match[0].length;
    } else if (/^\d/.test(rest)) {
      const match = /^\d+(\.\d+)?(ns|u|µ|ms|s|m|h|d|w)?/.exec(rest) as RegExpExecArray;
      tokens.push({ kind: 'number', text: match[0] });
      i += match[0].length;
    } else if (/^[A-Za-z_]/.test(rest)) {
      const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest) as RegExpExecArray;
      tokens.push({ kind: 'word', text: match[0] });
      i += match[0].length;
    } else {
      const match = /^(=~|!~|!=|<>|>=|<=|::|[=<>+\-*/%(),;])/.exec(rest);
      if (!match) throw new Error(`unexpected "${c}" at ${i} in: ${query}`);
      tokens.push({ kind: 'op', text: match[0] });
      i += match[0].length;
    }
  }
  return tokens;
}

/** An identifier a query uses as a field or tag, and in which clause. */
export interface NamedKey {
  name: string;
  clause: 'select' | 'where' | 'group' | 'key';
}

export interface QueryNames {
  /** Measurements after FROM (subqueries included). */
  measurements: string[];
  /** Fields and tags, in the clause they appear in; aliases (`AS "x"`) and `time` are not among them. */
  keys: NamedKey[];
  /** Names defined with AS, which an outer query may select. */
  aliases: string[];
  /** Values the query compares a key with by `=` (`"profile" = 'power'` → profile: [power]). */
  equals: Record<string, string[]>;
}

/**
 * The measurements, fields and tags an InfluxQL statement (SELECT or SHOW TAG VALUES) names, by clause. A bare word
 * followed by `(` is a function; InfluxQL keywords are not names. Type casts (`"x"::field`) are skipped, and so is a
 * `$variable` not yet interpolated (`$timeFilter`): check the interpolated query to see everything it names.
 */
export function namesOf(query: string): QueryNames {
  const tokens = tokenize(query);
  const names: QueryNames = { measurements: [], keys: [], aliases: [], equals: {} };
  let clause: NamedKey['clause'] | 'from' | 'other' = 'other';
  let parensInFill = -1;
  let depth = 0;
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index] as Token;
    const previous = tokens[index - 1];
    const next = tokens[index + 1];
    if (token.kind === 'op') {
      if (token.text === '(') depth += 1;
      if (token.text === ')') {
        depth -= 1;
        if (depth < parensInFill) parensInFill = -1;
      }
      if (token.text === '::') index += 1;
      continue;
    }
    if (token.kind === 'word') {
      const word = token.text.toLowerCase();
      if (next?.kind === 'op' && next.text === '(') {
        // a function; fill(…) and tz(…) hold keywords and literals, not names
        if (word === 'fill' || word === 'tz') parensInFill = depth + 1;
        continue;
      }
      if (word === 'select') clause = 'select';
      else if (word === 'from') clause = 'from';
      else if (word === 'where') clause = 'where';
      else if (word === 'by' && previous?.text.toLowerCase() === 'group') clause = 'group';
      else if (word === 'by' && previous?.text.toLowerCase() === 'order') clause = 'other';
      else if (word === 'key' && previous?.text.toLowerCase() === 'with') clause = 'key';
      else if (['limit', 'slimit', 'offset', 'soffset'].includes(word)) clause = 'other';
      if (KEYWORDS.has(word) || word === 'time' || parensInFill >= 0) continue;
    }
    if (token.kind !== 'word' && token.kind !== 'ident') continue;
    if (previous?.kind === 'word' && previous.text.toLowerCase() === 'as') {
      names.aliases.push(token.text);
      continue;
    }
    if (clause === 'from') {
      names.measurements.push(token.text);
      continue;
    }
    if (clause === 'other') throw new Error(`"${token.text}" where no field or tag belongs, in: ${query}`);
    names.keys.push({ name: token.text, clause });
    const value = tokens[index + 2];
    if (next?.kind === 'op' && next.text === '=' && value?.kind === 'string') {
      names.equals[token.text] = [...(names.equals[token.text] ?? []), value.text];
    }
  }
  return names;
}
