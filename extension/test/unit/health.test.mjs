import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATE_COLORS, badgeFor, becameCritical, displayState, stateFromScore } from '../../src/health.js';
import { deadEntity, entity } from '../fixtures.mjs';

test('score bands: thriving>=80, healthy>=60, okay>=40, poor>=20, dying below', () => {
  const cases = [
    [100, 'thriving'], [80, 'thriving'], [79.9, 'healthy'], [60, 'healthy'], [59, 'okay'],
    [40, 'okay'], [39.5, 'poor'], [20, 'poor'], [19, 'dying'], [0, 'dying'], [-5, 'dying'],
  ];
  for (const [score, state] of cases) assert.equal(stateFromScore(score), state, `score ${score}`);
});

test('badge shows the rounded score in the colour of its state', () => {
  const expected = { 92: 'thriving', 65: 'healthy', 45: 'okay', 25: 'poor', 5: 'dying' };
  for (const [score, state] of Object.entries(expected)) {
    const badge = badgeFor(entity({ health_score: Number(score) + 0.4 }));
    assert.equal(badge.text, String(score));
    assert.equal(badge.color, STATE_COLORS[state]);
  }
  const colours = new Set(Object.values(STATE_COLORS));
  assert.equal(colours.size, 6, 'every state has its own colour');
});

test('badge for a dead pet says RIP in grey, and is empty without a pet', () => {
  assert.deepEqual(badgeFor(deadEntity()), { text: 'RIP', color: STATE_COLORS.dead });
  assert.equal(badgeFor(null).text, '');
});

test('displayState ignores a stale server state in favour of the score, except for death', () => {
  assert.equal(displayState(entity({ health_score: 15, state: 'healthy' })), 'dying');
  assert.equal(displayState(deadEntity({ health_score: 50 })), 'dead');
});

test('becameCritical fires once on entering dying and once on death', () => {
  const healthy = entity({ health_score: 45 });
  const dying = entity({ health_score: 12 });
  assert.equal(becameCritical(healthy, dying), 'dying');
  assert.equal(becameCritical(dying, entity({ health_score: 10 })), null);
  assert.equal(becameCritical(dying, entity({ health_score: 0, status: 'dead' })), 'dead');
  assert.equal(becameCritical(healthy, entity({ health_score: 45, status: 'dying' })), 'dying');
  assert.equal(becameCritical(dying, entity({ health_score: 30 })), null);
});
