/** Health states, their colours and the toolbar badge derived from a pet. */

export const STATES = ['thriving', 'healthy', 'okay', 'poor', 'dying'];

// Lower bound of each state's score band, highest first.
const THRESHOLDS = [
  ['thriving', 80],
  ['healthy', 60],
  ['okay', 40],
  ['poor', 20],
];

export const STATE_COLORS = Object.freeze({
  thriving: '#1a7f37',
  healthy: '#4caf50',
  okay: '#d4a017',
  poor: '#e8590c',
  dying: '#cf222e',
  dead: '#57606a',
});

export function stateFromScore(score) {
  const value = Number(score);
  for (const [state, floor] of THRESHOLDS) if (value >= floor) return state;
  return 'dying';
}

/** The state to show: dead pets are "dead" whatever their score; otherwise the score decides. */
export function displayState(entity) {
  if (!entity) return null;
  if (entity.status === 'dead') return 'dead';
  return stateFromScore(entity.health_score);
}

export function stateColor(entity) {
  return STATE_COLORS[displayState(entity)] ?? STATE_COLORS.dead;
}

/** Badge text and colour for the toolbar; an empty badge when there is no pet. */
export function badgeFor(entity) {
  if (!entity) return { text: '', color: STATE_COLORS.dead };
  if (entity.status === 'dead') return { text: 'RIP', color: STATE_COLORS.dead };
  return { text: String(Math.round(Number(entity.health_score) || 0)), color: stateColor(entity) };
}

/** True when a change of pet means the user should hear about it (it started dying, or died). */
export function becameCritical(before, after) {
  if (!after) return null;
  const was = displayState(before);
  const now = displayState(after);
  if (now === 'dead' && was !== 'dead') return 'dead';
  const dyingNow = now === 'dying' || after.status === 'dying';
  const dyingBefore = was === 'dying' || was === 'dead' || before?.status === 'dying';
  if (dyingNow && !dyingBefore) return 'dying';
  return null;
}
