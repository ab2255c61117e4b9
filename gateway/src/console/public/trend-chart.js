// A metric's trend as an SVG line: readings, the rule's threshold, the moment the alarm was raised.
import { t } from './i18n.js';
import { formatValue, h, localTime } from './views.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

const svg = (tag, attributes = {}, text) => {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
};

/**
 * `points`: `[{ t, v }]` oldest first (numbers drawn; booleans as 0/1). Options: threshold, unit, markAt (ms), from
 * and to (ms: the time axis). Answers a `<figure>` with the chart and, for screen readers, the range in words.
 */
export function trendChart(points, { threshold = null, unit = null, markAt = null, from, to, label }) {
  const numeric = points
    .map((p) => ({ t: p.t, v: typeof p.v === 'boolean' ? Number(p.v) : p.v }))
    .filter((p) => typeof p.v === 'number' && Number.isFinite(p.v));
  const figure = h('figure', { className: 'trend', data: { points: numeric.length } });
  if (numeric.length === 0) {
    figure.append(h('p', { className: 'empty' }, t('trend.none')));
    return figure;
  }
  const values = numeric.map((p) => p.v);
  if (typeof threshold === 'number') values.push(threshold);
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) {
    low -= 1;
    high += 1;
  }
  const margin = (high - low) * 0.08;
  low -= margin;
  high += margin;
  const start = Math.min(from ?? numeric[0].t, numeric[0].t);
  const end = Math.max(to ?? numeric.at(-1).t, numeric.at(-1).t, start + 1);
  const x = (ms) => PAD.left + ((ms - start) / (end - start)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - (v - low) / (high - low)) * (HEIGHT - PAD.top - PAD.bottom);

  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label ?? '' });
  chart.append(
    svg('rect', { class: 'plot', x: PAD.left, y: PAD.top, width: WIDTH - PAD.left - PAD.right, height: HEIGHT - PAD.top - PAD.bottom }),
  );
  for (const v of [low + margin, (low + high) / 2, high - margin]) {
    chart.append(svg('text', { class: 'axis', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, formatValue(v)));
  }
  for (const ms of [start, (start + end) / 2, end]) {
    const text = localTime(new Date(ms).toISOString()).slice(-8, -3);
    chart.append(svg('text', { class: 'axis', x: x(ms), y: HEIGHT - 8, 'text-anchor': 'middle' }, text));
  }
  if (typeof threshold === 'number') {
    chart.append(svg('line', { class: 'threshold', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(threshold), y2: y(threshold) }));
    chart.append(
      svg(
        'text',
        { class: 'threshold-label', x: WIDTH - PAD.right - 4, y: y(threshold) - 4, 'text-anchor': 'end' },
        t('trend.threshold', { v: formatValue(threshold, unit) }),
      ),
    );
  }
  if (markAt !== null && markAt >= start && markAt <= end) {
    chart.append(svg('line', { class: 'mark', x1: x(markAt), x2: x(markAt), y1: PAD.top, y2: HEIGHT - PAD.bottom }));
    chart.append(svg('text', { class: 'mark-label', x: x(markAt) + 4, y: PAD.top + 12 }, t('trend.raised')));
  }
  chart.append(svg('polyline', { class: 'line', points: numeric.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ') }));
  for (const p of numeric.length <= 120 ? numeric : []) chart.append(svg('circle', { class: 'point', cx: x(p.t), cy: y(p.v), r: 2.5 }));
  const last = numeric.at(-1);
  figure.append(
    chart,
    h(
      'figcaption',
      {},
      [
        t('trend.readings', { n: numeric.length }),
        `${t('trend.min')} ${formatValue(Math.min(...numeric.map((p) => p.v)), unit)}`,
        `${t('trend.max')} ${formatValue(Math.max(...numeric.map((p) => p.v)), unit)}`,
        `${localTime(new Date(last.t).toISOString())} ${formatValue(last.v, unit)}`,
      ].join(' · '),
    ),
  );
  return figure;
}
