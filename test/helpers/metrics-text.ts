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
