/** The metric families `GET /metrics` declares (`# TYPE name kind`), whether or not they have samples yet. */
export function declaredMetrics(metricsText: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const line of metricsText.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match) families.set(match[1] as string, match[2] as string);
  }
  return families;
}

/**
 * The sum of a metric's samples matching `labels`; throws when the exposition does not declare the metric at
 * all, so a renamed or unregistered metric fails the test instead of reading as 0.
 */
export function exposedMetric(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  if (!declaredMetrics(metricsText).has(name)) throw new Error(`metric ${name} is not in GET /metrics`);
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** One sample line of the exposition: its metric name (with `_bucket`/`_sum`/`_count`) and labels. */
export interface ExposedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Every sample of a Prometheus text exposition, label values unescaped (`\\`, `\"`, `\n`) as the text format
 * defines them. Meant for an exposition `promtool check metrics` has accepted: it throws on what it cannot read.
 */
export function exposedSamples(metricsText: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const line of metricsText.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    let at = name.length;
    if (line[at] === '{') {
      at += 1;
      while (line[at] !== '}') {
        const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
        if (!label) throw new Error(`bad label at ${at}: ${line}`);
        at += label[0].length;
        let value = '';
        while (line[at] !== '"') {
          if (at >= line.length) throw new Error(`unterminated label value: ${line}`);
          if (line[at] === '\\') {
            const escaped = line[at + 1];
            value += escaped === 'n' ? '\n' : (escaped ?? '');
            at += 2;
          } else {
            value += line[at];
            at += 1;
          }
        }
        labels[label[1] as string] = value;
        at += 1;
        if (line[at] === ',') at += 1;
      }
      at += 1;
    }
    const [value] = line.slice(at).trim().split(/\s+/);
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}
