/**
 * The dashboard's caretakers: who added and took away the pet's health over the last 30 days,
 * their best commit and streak, the pet's streak, and the latest achievements. The data is the
 * server's `GET /entities/{id}/caretakers`, cached per pet (KEYS.caretakers) so the popup shows
 * it at once; a repository with `caretakers: off` answers `enabled: false` and nothing shows.
 * `h` (render.js's element builder) is handed in, so this module imports no view code.
 */

export const SHOWN_PEOPLE = 5;
export const SHOWN_ACHIEVEMENTS = 3;

const signed = (n) => `${n > 0 ? '+' : n < 0 ? '−' : '±'}${Math.abs(n)}`;
const days = (n) => `${n} day${n === 1 ? '' : 's'}`;

/** The toast an `achievement` event shows: the server's sentence, or one made from its fields. */
export function achievementText(event) {
  if (event?.message) return event.message;
  const who = event?.person?.name ?? 'Someone';
  return `${who} earned ${[event?.emoji, event?.title].filter(Boolean).join(' ')}`;
}

/** The cached caretakers of a pet, or null. */
export function caretakersOf(state, entityId) {
  return state.caretakers?.[entityId] ?? null;
}

/** Everything the section reads, for the view's re-render key. */
export function caretakersKey(state, entityId) {
  const data = caretakersOf(state, entityId);
  if (!data) return JSON.stringify([entityId, null]);
  const people = data.period?.caretakers?.slice(0, SHOWN_PEOPLE) ?? [];
  const earned = data.achievements?.slice(0, SHOWN_ACHIEVEMENTS) ?? [];
  return JSON.stringify([entityId, data.enabled, people, earned, data.streak ?? null]);
}

function personLine(doc, h, item) {
  const best = item.best_commit;
  const streak = item.streak?.current ? ` · 🔥 ${days(item.streak.current)}` : '';
  return h(
    doc,
    'li',
    { 'data-person': item.person?.key ?? '' },
    h(doc, 'strong', { text: item.person?.name ?? 'someone' }),
    h(doc, 'span', { class: 'delta up', text: ` +${item.added}` }),
    h(doc, 'span', { class: 'delta down', text: ` −${item.taken_away}` }),
    h(doc, 'span', { class: 'muted', text: ` · ${item.commits} commit${item.commits === 1 ? '' : 's'}${streak}` }),
    best ? h(doc, 'div', { class: 'muted best', text: `best: ${String(best.sha).slice(0, 7)} ${signed(best.points)} ${best.message ?? ''}`.trim() }) : null,
  );
}

function achievementLine(doc, h, item) {
  return h(
    doc,
    'li',
    { 'data-code': item.code },
    `${item.emoji ?? ''} ${item.title} — ${item.person?.name ?? 'someone'} `,
    h(doc, 'code', { text: String(item.commit_sha ?? '').slice(0, 7) }),
  );
}

/** The section, from the cache; an empty box when hidden, a hint while nothing is cached. */
export function renderCaretakers(doc, state, entityId, h) {
  const data = caretakersOf(state, entityId);
  if (data && data.enabled === false) return h(doc, 'div', { 'data-testid': 'caretakers', hidden: true });
  const people = data?.period?.caretakers?.slice(0, SHOWN_PEOPLE) ?? [];
  const earned = data?.achievements?.slice(0, SHOWN_ACHIEVEMENTS) ?? [];
  const streak = data?.streak?.current ?? 0;
  return h(
    doc,
    'section',
    { class: 'caretakers', 'data-testid': 'caretakers' },
    h(doc, 'h3', { text: 'Caretakers · last 30 days' }),
    people.length
      ? h(doc, 'ul', { 'data-testid': 'caretaker-list' }, people.map((item) => personLine(doc, h, item)))
      : h(doc, 'p', { class: 'muted', text: data ? 'Nobody committed in the last 30 days.' : 'Loading caretakers…' }),
    data ? h(doc, 'p', { class: 'muted', 'data-testid': 'pet-streak', text: `Pet streak: ${days(streak)} in a row with a commit that did not lower health.` }) : null,
    earned.length ? h(doc, 'ul', { class: 'achievements', 'data-testid': 'achievement-list' }, earned.map((item) => achievementLine(doc, h, item))) : null,
  );
}
