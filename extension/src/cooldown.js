/** The revival cooldown of a dead pet, and a ticking countdown for the death screen. */

export const REVIVAL_COOLDOWN_MS = 48 * 60 * 60 * 1000;

/**
 * When the pet may be revived, in ms since the epoch: the server's word (a `cooldown_active`
 * answer, kept in `cooldowns`, or the entity's own `cooldown_expires`) wins over the 48 hours
 * counted from `died_at`. Null when nothing says when it died.
 */
export function cooldownExpiresAt(entity, cooldowns = {}) {
  if (!entity) return null;
  const known = cooldowns?.[entity.id] ?? entity.cooldown_expires;
  if (known) return Date.parse(known);
  if (entity.died_at) return Date.parse(entity.died_at) + REVIVAL_COOLDOWN_MS;
  return null;
}

export function remainingMs(expiresAt, now) {
  if (expiresAt == null || Number.isNaN(expiresAt)) return 0;
  return Math.max(0, expiresAt - now);
}

/** "47:59:59" — hours may exceed 24, because the cooldown is 48 hours. Rounds up to whole seconds. */
export function formatCountdown(ms) {
  const total = Math.ceil(Math.max(0, ms) / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (value) => String(value).padStart(2, '0');
  return `${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
}

/**
 * Calls onTick(remaining) now and every second until the cooldown ends, then onDone() once.
 * Returns a stop function. Clock and timers are injectable for tests.
 */
export function startCooldownTimer({
  expiresAt,
  now = () => Date.now(),
  onTick = () => {},
  onDone = () => {},
  timers = { setInterval, clearInterval },
  intervalMs = 1000,
}) {
  let handle = null;
  let finished = false;
  const stop = () => {
    if (handle !== null) timers.clearInterval(handle);
    handle = null;
  };
  const step = () => {
    if (finished) return;
    const left = remainingMs(expiresAt, now());
    onTick(left);
    if (left === 0) {
      finished = true;
      stop();
      onDone();
    }
  };
  step();
  if (!finished) handle = timers.setInterval(step, intervalMs);
  return stop;
}
