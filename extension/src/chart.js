/** The 30-day health chart, drawn as inline SVG from cached history points. */

import { STATE_COLORS, stateFromScore } from './health.js';
import { SVG_NS } from './sprites.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const BANDS = [
  ['thriving', 80, 100],
  ['healthy', 60, 80],
  ['okay', 40, 60],
  ['poor', 20, 40],
  ['dying', 0, 20],
];

/** History rows (`{timestamp, health_score}`) or trend rows (`{date, score}`) as sorted `{t, score}`. */
export function normalizePoints(rows) {
  return (rows ?? [])
    .map((row) => ({
      t: Date.parse(row.timestamp ?? row.date),
      score: Number(row.health_score ?? row.score),
    }))
    .filter((point) => Number.isFinite(point.t) && Number.isFinite(point.score))
    .sort((a, b) => a.t - b.t);
}

/**
 * Chart coordinates for the points of the last `days` days. The window ends at `now`, or at the
 * newest point if that is later (a live update newer than the popup's clock still shows).
 */
export function chartPoints(rows, { now, days = 30, width = 288, height = 88 }) {
  const all = normalizePoints(rows);
  const end = Math.max(now, all.at(-1)?.t ?? now);
  const start = end - days * DAY_MS;
  const y = (score) => +(height - (Math.min(100, Math.max(0, score)) / 100) * height).toFixed(1);
  const x = (t) => +(((t - start) / (end - start)) * width).toFixed(1);
  return all
    .filter((point) => point.t >= start)
    .map((point) => ({ x: x(point.t), y: y(point.score), score: point.score, t: point.t }));
}

function el(doc, tag, attrs = {}) {
  const node = doc.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

export function healthChart(doc, rows, { now, days = 30, width = 288, height = 88 } = {}) {
  const points = chartPoints(rows, { now, days, width, height });
  const svg = el(doc, 'svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    class: 'chart',
    role: 'img',
    'data-points': points.length,
  });
  for (const [state, low, high] of BANDS) {
    svg.append(
      el(doc, 'rect', {
        x: 0,
        y: height - (high / 100) * height,
        width,
        height: ((high - low) / 100) * height,
        fill: STATE_COLORS[state],
        opacity: 0.1,
      }),
    );
  }
  const title = el(doc, 'title');
  svg.append(title);
  if (!points.length) {
    title.textContent = `No health history in the last ${days} days`;
    svg.setAttribute('aria-label', title.textContent);
    const text = el(doc, 'text', { x: width / 2, y: height / 2 + 4, 'text-anchor': 'middle', class: 'chart-empty' });
    text.textContent = 'No history yet';
    svg.append(text);
    return svg;
  }
  const first = points[0];
  const last = points[points.length - 1];
  title.textContent = `Health over the last ${days} days: from ${Math.round(first.score)} to ${Math.round(last.score)}`;
  svg.setAttribute('aria-label', title.textContent);
  svg.append(
    el(doc, 'polyline', {
      points: points.map((point) => `${point.x},${point.y}`).join(' '),
      fill: 'none',
      stroke: '#57606a',
      'stroke-width': 2,
      'stroke-linejoin': 'round',
      'stroke-linecap': 'round',
    }),
  );
  svg.append(el(doc, 'circle', { cx: last.x, cy: last.y, r: 3.5, fill: STATE_COLORS[stateFromScore(last.score)] }));
  return svg;
}
