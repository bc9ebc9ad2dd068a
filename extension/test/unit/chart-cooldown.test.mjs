import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartPoints, healthChart, normalizePoints } from '../../src/chart.js';
import { REVIVAL_COOLDOWN_MS, cooldownExpiresAt, formatCountdown, remainingMs, startCooldownTimer } from '../../src/cooldown.js';
import { NOW, deadEntity, history } from '../fixtures.mjs';
import { createDom } from '../helpers/dom.mjs';
import { FakeClock } from '../helpers/fake-timers.mjs';

const DAY = 86_400_000;

test('chart maps 30 daily points left to right and scores bottom to top', () => {
  const points = chartPoints(history(NOW), { now: NOW, days: 30, width: 300, height: 100 });
  assert.equal(points.length, 30);
  assert.equal(points.at(-1).x, 300, 'today is at the right edge');
  assert.equal(points[0].x, 10, 'the oldest day is one day in from the left');
  assert.equal(points[0].y, 50, 'score 50 is half way up');
  assert.equal(points.at(-1).y, 21, 'score 79 is near the top');
  assert.ok(points.every((p, i) => i === 0 || p.x > points[i - 1].x));
});

test('a live point newer than the popup clock still shows, at the right edge', () => {
  const rows = [...history(NOW), { timestamp: new Date(NOW + 5000).toISOString(), health_score: 20 }];
  const points = chartPoints(rows, { now: NOW, width: 300, height: 100 });
  assert.equal(points.length, 31);
  assert.deepEqual([points.at(-1).x, points.at(-1).y], [300, 80]);
});

test('chart drops points outside the window and accepts trend rows too', () => {
  const rows = [
    { timestamp: new Date(NOW - 40 * DAY).toISOString(), health_score: 10 },
    { date: new Date(NOW - 2 * DAY).toISOString().slice(0, 10), score: 70 },
    { timestamp: 'garbage', health_score: 5 },
  ];
  assert.equal(normalizePoints(rows).length, 2);
  assert.equal(chartPoints(rows, { now: NOW }).length, 1);
});

test('chart renders an SVG polyline, or a "no history" note', () => {
  const { document } = createDom();
  const svg = healthChart(document, history(NOW), { now: NOW });
  assert.equal(svg.namespaceURI, 'http://www.w3.org/2000/svg');
  assert.equal(svg.querySelector('polyline').getAttribute('points').split(' ').length, 30);
  assert.match(svg.getAttribute('aria-label'), /from 50 to 79/);
  const empty = healthChart(document, [], { now: NOW });
  assert.equal(empty.querySelector('polyline'), null);
  assert.equal(empty.querySelector('text').textContent, 'No history yet');
});

test('cooldown expiry: 48 h after death unless the server said otherwise', () => {
  const pet = deadEntity();
  assert.equal(cooldownExpiresAt(pet), Date.parse(pet.died_at) + REVIVAL_COOLDOWN_MS);
  const told = '2026-11-26T00:00:00Z';
  assert.equal(cooldownExpiresAt(pet, { [pet.id]: told }), Date.parse(told));
  assert.equal(cooldownExpiresAt({ ...pet, cooldown_expires: told }), Date.parse(told));
  assert.equal(cooldownExpiresAt({ ...pet, died_at: undefined }), null);
  assert.equal(remainingMs(null, NOW), 0);
});

test('countdown format counts hours past 24 and rounds seconds up', () => {
  assert.equal(formatCountdown(REVIVAL_COOLDOWN_MS), '48:00:00');
  assert.equal(formatCountdown(46 * 3_600_000 + 61_500), '46:01:02');
  assert.equal(formatCountdown(999), '00:00:01');
  assert.equal(formatCountdown(-5), '00:00:00');
});

test('cooldown timer ticks each second and finishes exactly once', async () => {
  const clock = new FakeClock(NOW);
  const ticks = [];
  let done = 0;
  startCooldownTimer({ expiresAt: NOW + 3000, now: clock.now, timers: clock, onTick: (ms) => ticks.push(ms), onDone: () => (done += 1) });
  assert.deepEqual(ticks, [3000]);
  await clock.advance(10_000);
  assert.deepEqual(ticks, [3000, 2000, 1000, 0]);
  assert.equal(done, 1);
  assert.equal(clock.pending().length, 0, 'the interval is cleared');
});

test('an expired cooldown finishes at once; stop() cancels a running one', async () => {
  const clock = new FakeClock(NOW);
  let done = 0;
  startCooldownTimer({ expiresAt: NOW - 1, now: clock.now, timers: clock, onDone: () => (done += 1) });
  assert.equal(done, 1);
  assert.equal(clock.pending().length, 0);
  const stop = startCooldownTimer({ expiresAt: NOW + 5000, now: clock.now, timers: clock, onDone: () => (done += 1) });
  stop();
  await clock.advance(10_000);
  assert.equal(done, 1);
});
