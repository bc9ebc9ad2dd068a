/**
 * Rendering: pure section functions (state, document) -> DOM node, and a view that re-renders only
 * the sections whose inputs changed. Text always goes in through textContent, never as markup.
 */

import { caretakersKey, renderCaretakers } from './caretakers.js';
import { healthChart } from './chart.js';
import { cooldownExpiresAt, formatCountdown, remainingMs } from './cooldown.js';
import { STATE_COLORS, displayState } from './health.js';
import { spriteSvg } from './sprites.js';
import { currentEntity, isOffline, screenOf, repoKey, visibleRepositories } from './state.js';

export function h(doc, tag, props = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name === 'text') node.textContent = value;
    else if (name === 'style') for (const [prop, v] of Object.entries(value)) node.style.setProperty(prop, v);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2).toLowerCase(), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    node.append(typeof child === 'string' ? doc.createTextNode(child) : child);
  }
  return node;
}

export function timeAgo(timestamp, now) {
  const then = typeof timestamp === 'number' ? timestamp : Date.parse(timestamp);
  if (!Number.isFinite(then)) return 'never';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

const minute = (now) => Math.floor(now / 60_000);
const call = (fn, ...args) => () => fn?.(...args);
const signed = (value) => (Number(value) > 0 ? `+${value}` : String(value));

/** Where a pet's picture comes from: its visual_url on the server, if it is a safe kind of URL. */
export function pictureUrl(entity, serverUrl) {
  if (!entity?.visual_url) return null;
  try {
    const url = new URL(entity.visual_url, serverUrl);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
    if (url.protocol === 'data:' && url.href.startsWith('data:image/')) return url.href;
  } catch {
    // an unusable URL falls back to the sprite
  }
  return null;
}

/**
 * The server's picture for the pet, from the cached copy when there is one (so it shows offline
 * too); the built-in drawing only stands in for a picture never fetched.
 */
function petPicture(doc, entity, state, size) {
  const visual = displayState(entity);
  const sprite = spriteSvg(doc, entity.type, visual, size);
  const url = pictureUrl(entity, state.serverUrl);
  const src = (url && state.pictures?.[url]) || url;
  if (!src) return h(doc, 'div', { class: 'picture' }, sprite);
  const img = h(doc, 'img', { src, alt: `${entity.name}, ${visual}`, width: size, height: size });
  img.addEventListener('error', () => img.replaceWith(sprite), { once: true });
  return h(doc, 'div', { class: 'picture' }, img);
}

function firstLine(text, max = 64) {
  const line = String(text ?? '').split('\n')[0];
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function topReasons(analysis, count = 2) {
  const reasons = [...(analysis.health_impact?.reasons ?? [])]
    .sort((a, b) => Math.abs(b.points ?? 0) - Math.abs(a.points ?? 0))
    .slice(0, count)
    .map((reason) => `${reason.detail || reason.code} (${signed(reason.points ?? 0)})`);
  if (!reasons.length && analysis.health_impact?.reason) reasons.push(analysis.health_impact.reason);
  return reasons;
}

/** What one history row says happened, with the start of decay, deaths and revivals named. */
export function historyLabel(row) {
  if (row.decay_start) return 'decay started: no commits for a while';
  const sha = row.commit_sha ? ` ${String(row.commit_sha).slice(0, 7)}` : '';
  const labels = { commit_analysis: `commit${sha}`, daily_decay: 'daily decay', death: 'died', revival: `revived${row.generation ? ` (generation ${row.generation})` : ''}`, manual_reset: 'new pet' };
  return labels[row.change_reason] ?? row.change_reason ?? '';
}

/** The change applied, with the score beside it when they differ ("+0, scored +9"). */
export function appliedText(applied, scored) {
  if (applied == null) return scored == null ? '' : signed(scored);
  if (scored == null || Number(scored) === Number(applied)) return signed(applied);
  return `${signed(applied)}, scored ${signed(scored)}`;
}

// Each section: key(state, screen) names everything render reads; equal keys mean "leave it".
export const SECTIONS = {
  header: {
    key: (s, screen) => JSON.stringify([screen, s.connection?.state ?? null, isOffline(s)]),
    render(doc, s, actions, screen) {
      const connection = isOffline(s) ? 'offline' : s.connection?.state ?? 'connecting';
      const labels = { live: 'Live', polling: 'Polling every 30 s', connecting: 'Connecting…', offline: 'Offline' };
      return h(
        doc,
        'div',
        { class: 'bar' },
        h(doc, 'h1', { text: 'Tamagitto' }),
        s.session
          ? h(doc, 'span', {
              class: `connection ${connection}`,
              'data-testid': 'connection',
              'data-state': connection,
              title: labels[connection] ?? connection,
              text: labels[connection] ?? connection,
            })
          : null,
        s.session && screen !== 'settings'
          ? h(doc, 'button', { class: 'icon', type: 'button', 'data-testid': 'open-settings', 'aria-label': 'Settings', title: 'Settings', text: '⚙', onClick: call(actions.onNavigate, 'settings') })
          : null,
      );
    },
  },

  banner: {
    key: (s, screen) =>
      JSON.stringify([screen, isOffline(s), s.error?.message ?? null, s.lastUpdated, minute(s.now), s.toast, s.loading]),
    render(doc, s, actions, screen) {
      const withData = ['dashboard', 'death', 'repositories', 'settings'].includes(screen);
      const parts = [];
      if (withData && isOffline(s)) {
        parts.push(
          h(
            doc,
            'div',
            { class: 'banner offline', role: 'status', 'data-testid': 'offline-banner' },
            h(doc, 'span', { text: `Offline — showing what was saved ${timeAgo(s.lastUpdated, s.now)}.` }),
            h(doc, 'button', { type: 'button', text: 'Retry', onClick: call(actions.onRetry) }),
          ),
        );
      } else if (withData && s.error && s.error.code !== 'no_active_entity') {
        parts.push(
          h(
            doc,
            'div',
            { class: 'banner error', role: 'alert', 'data-testid': 'error-banner' },
            h(doc, 'span', { text: s.error.message || 'Something went wrong.' }),
            h(doc, 'button', { type: 'button', text: 'Retry', onClick: call(actions.onRetry) }),
          ),
        );
      }
      if (withData && s.loading) parts.push(h(doc, 'div', { class: 'refreshing', 'data-testid': 'refreshing', text: 'Refreshing…' }));
      if (s.toast) parts.push(h(doc, 'div', { class: 'toast', role: 'status', 'data-testid': 'toast', text: s.toast }));
      return h(doc, 'div', {}, parts);
    },
  },

  loading: {
    key: () => 'loading',
    render: (doc) =>
      h(doc, 'div', { class: 'overlay', 'data-testid': 'loading', 'aria-busy': 'true' }, h(doc, 'div', { class: 'spinner' }), h(doc, 'p', { text: 'Loading your pet…' })),
  },

  firstrun: {
    // Keyed on the check only, so typing in the field is never re-rendered away.
    key: (s) => JSON.stringify([s.serverCheck?.busy ?? false, s.serverCheck?.error?.message ?? null]),
    render(doc, s, actions) {
      const check = s.serverCheck ?? {};
      const submit = (event) => {
        event.preventDefault();
        actions.onSaveServer?.(event.target.elements.server.value);
      };
      return h(
        doc,
        'form',
        { class: 'firstrun', 'data-testid': 'first-run', onSubmit: submit },
        h(doc, 'h2', { text: 'Which Tamagitto server?' }),
        h(doc, 'p', { text: 'Tamagitto is self-hosted. Enter your server\'s URL; it is checked (GET /healthz) before it is saved.' }),
        h(doc, 'label', { for: 'server-input', text: 'Server URL' }),
        h(doc, 'input', { id: 'server-input', name: 'server', type: 'url', required: true, value: s.serverUrl, 'data-testid': 'server-input' }),
        h(doc, 'button', { type: 'submit', class: 'primary', 'data-testid': 'save-server', disabled: check.busy, text: check.busy ? 'Checking…' : 'Check and save' }),
        check.error ? h(doc, 'p', { class: 'error-text', role: 'alert', 'data-testid': 'server-error', 'data-step': check.error.step ?? '', text: check.error.message }) : null,
      );
    },
  },

  signin: {
    key: (s) => JSON.stringify([s.signingIn, s.signInError?.message ?? null, s.serverUrl]),
    render(doc, s, actions) {
      return h(
        doc,
        'div',
        { class: 'signin', 'data-testid': 'signin' },
        spriteSvg(doc, 'pet', 'thriving', 96),
        h(doc, 'p', { text: 'A pet for every repository. Its health follows the quality of your commits.' }),
        h(doc, 'button', {
          type: 'button',
          class: 'primary',
          'data-testid': 'connect-github',
          disabled: s.signingIn,
          text: s.signingIn ? 'Waiting for GitHub…' : 'Connect GitHub',
          onClick: call(actions.onSignIn),
        }),
        s.signInError ? h(doc, 'p', { class: 'error-text', role: 'alert', text: s.signInError.message || 'Sign-in failed.' }) : null,
        h(doc, 'p', { class: 'muted' }, `Server: ${s.serverUrl} `, h(doc, 'button', { type: 'button', class: 'link', text: 'Change', onClick: call(actions.onOpenOptions) })),
      );
    },
  },

  error: {
    key: (s) => JSON.stringify([s.error?.message ?? null, s.error?.code ?? null]),
    render(doc, s, actions) {
      return h(
        doc,
        'div',
        { class: 'state-screen', 'data-testid': 'error-screen', role: 'alert' },
        h(doc, 'h2', { text: 'Something went wrong' }),
        h(doc, 'p', { text: s.error?.message || 'The server gave an unexpected answer.' }),
        s.error?.code ? h(doc, 'p', { class: 'muted', text: `(${s.error.code})` }) : null,
        h(doc, 'button', { type: 'button', class: 'primary', 'data-testid': 'retry', text: 'Retry', onClick: call(actions.onRetry) }),
      );
    },
  },

  offline: {
    key: (s) => s.serverUrl,
    render(doc, s, actions) {
      return h(
        doc,
        'div',
        { class: 'state-screen', 'data-testid': 'offline-screen', role: 'status' },
        h(doc, 'h2', { text: 'Offline' }),
        h(doc, 'p', { text: `Cannot reach the Tamagitto server at ${s.serverUrl}, and nothing is saved yet.` }),
        h(doc, 'button', { type: 'button', class: 'primary', 'data-testid': 'retry', text: 'Retry', onClick: call(actions.onRetry) }),
      );
    },
  },

  reposHeader: {
    key: (s) => JSON.stringify([s.entities.length > 0]),
    render(doc, s, actions) {
      const hasPets = s.entities.length > 0;
      return h(
        doc,
        'div',
        { class: 'section-head' },
        hasPets ? h(doc, 'button', { type: 'button', class: 'link', 'data-testid': 'back', text: '← Back', onClick: call(actions.onNavigate, 'main') }) : null,
        h(doc, 'h2', { text: 'Repositories' }),
        hasPets ? null : h(doc, 'p', { class: 'muted', text: 'Turn on monitoring for a repository to hatch its pet.' }),
      );
    },
  },

  reposSearch: {
    // Never re-rendered while the screen is up, so typing keeps focus and caret.
    key: () => 'search',
    render(doc, s, actions) {
      return h(doc, 'input', {
        type: 'search',
        class: 'search',
        placeholder: 'Search repositories',
        'aria-label': 'Search repositories',
        'data-testid': 'repo-search',
        value: s.repositories.query,
        onInput: (event) => actions.onSearch?.(event.target.value),
      });
    },
  },

  reposList: {
    key: (s) => {
      const r = s.repositories;
      const rows = visibleRepositories(s).map((repo) => [repoKey(repo), repo.full_name, Boolean(repo.monitoring_enabled), Boolean(repo.private), repo.language]);
      return JSON.stringify([rows, r.pending, r.loading, r.error?.message ?? null, r.items === null, r.query]);
    },
    render(doc, s, actions) {
      const r = s.repositories;
      const note = (text) => h(doc, 'p', { class: 'muted', text });
      const error = r.error ? h(doc, 'p', { class: 'error-text', role: 'alert', 'data-testid': 'repos-error' }, r.error.message || 'Could not load repositories. ', h(doc, 'button', { type: 'button', class: 'link', text: 'Retry', onClick: call(actions.onLoadRepositories) })) : null;
      if (r.loading && r.items === null) return h(doc, 'div', {}, note('Loading repositories…'));
      if (r.items === null) return h(doc, 'div', {}, error);
      const repos = visibleRepositories(s);
      if (!repos.length) {
        return h(doc, 'div', {}, error, note(r.items.length ? 'No repository matches your search.' : 'No repositories with the Tamagitto App installed yet. Install the App on GitHub, then come back.'));
      }
      return h(
        doc,
        'div',
        {},
        error,
        h(
          doc,
          'ul',
          { class: 'repos', 'data-testid': 'repo-list' },
          repos.map((repo) => {
            const id = repoKey(repo);
            return h(
              doc,
              'li',
              { 'data-repo': repo.full_name },
              h(
                doc,
                'label',
                {},
                h(doc, 'input', {
                  type: 'checkbox',
                  role: 'switch',
                  'data-testid': 'repo-toggle',
                  checked: Boolean(repo.monitoring_enabled),
                  disabled: Boolean(r.pending[id]),
                  onChange: (event) => actions.onToggleMonitor?.(repo, event.target.checked),
                }),
                h(doc, 'span', { class: 'repo-name', text: repo.full_name }),
                repo.private ? h(doc, 'span', { class: 'tag', text: 'private' }) : null,
                repo.language ? h(doc, 'span', { class: 'muted', text: repo.language }) : null,
              ),
            );
          }),
        ),
      );
    },
  },

  switcher: {
    key: (s) => (s.entities.length < 2 ? 'single' : JSON.stringify([s.entities.map((e) => [e.id, e.name, e.health_score, e.status]), currentEntity(s)?.id])),
    render(doc, s, actions) {
      if (s.entities.length < 2) return h(doc, 'div', { hidden: true });
      const current = currentEntity(s);
      return h(
        doc,
        'nav',
        { class: 'switcher', 'aria-label': 'Your pets', 'data-testid': 'pet-switcher' },
        s.entities.map((entity) =>
          h(doc, 'button', {
            type: 'button',
            'aria-pressed': String(entity.id === current?.id),
            'data-entity': entity.id,
            style: { 'border-color': STATE_COLORS[displayState(entity)] },
            text: `${entity.name} · ${entity.status === 'dead' ? '✝' : Math.round(entity.health_score)}`,
            onClick: call(actions.onSelectEntity, entity.id),
          }),
        ),
      );
    },
  },

  pet: {
    key: (s) => {
      const e = currentEntity(s);
      const url = pictureUrl(e, s.serverUrl);
      return JSON.stringify([e.id, e.name, e.species, e.type, e.generation, displayState(e), url, Boolean(s.pictures?.[url])]);
    },
    render(doc, s) {
      const e = currentEntity(s);
      return h(
        doc,
        'div',
        { class: 'pet', 'data-testid': 'pet' },
        petPicture(doc, e, s, 96),
        h(
          doc,
          'div',
          { class: 'who' },
          h(doc, 'h2', { 'data-testid': 'pet-name', text: e.name }),
          h(doc, 'p', { class: 'muted', 'data-testid': 'pet-species', text: [e.species, e.type].filter(Boolean).join(' · ') + (e.generation > 1 ? ` · generation ${e.generation}` : '') }),
        ),
      );
    },
  },

  health: {
    key: (s) => {
      const e = currentEntity(s);
      return JSON.stringify([e.health_score, e.status, displayState(e)]);
    },
    render(doc, s) {
      const e = currentEntity(s);
      const state = displayState(e);
      const score = Math.round(Number(e.health_score) || 0);
      return h(
        doc,
        'div',
        { class: 'health', 'data-state': state },
        h(
          doc,
          'div',
          { class: 'health-line' },
          h(doc, 'span', { class: 'score' }, h(doc, 'strong', { 'data-testid': 'health-score', text: String(score) }), '/100'),
          h(doc, 'span', { class: 'state', 'data-testid': 'health-state', style: { color: STATE_COLORS[state] }, text: state }),
          e.status && e.status !== 'alive' && e.status !== state ? h(doc, 'span', { class: 'status', 'data-testid': 'pet-status', text: e.status }) : null,
        ),
        h(
          doc,
          'div',
          { class: 'bar-track', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': score, 'aria-label': 'Health' },
          h(doc, 'div', { class: 'bar-fill', 'data-testid': 'health-bar', style: { width: `${Math.max(0, Math.min(100, score))}%`, 'background-color': STATE_COLORS[state] } }),
        ),
      );
    },
  },

  repo: {
    key: (s) => {
      const e = currentEntity(s);
      return JSON.stringify([e.repository?.full_name, e.repository?.language, s.lastUpdated, minute(s.now)]);
    },
    render(doc, s) {
      const e = currentEntity(s);
      return h(
        doc,
        'p',
        { class: 'repo muted', 'data-testid': 'pet-repository' },
        [e.repository?.full_name, e.repository?.language].filter(Boolean).join(' · '),
        s.lastUpdated ? ` · updated ${timeAgo(s.lastUpdated, s.now)}` : '',
      );
    },
  },

  chart: {
    key: (s) => {
      const e = currentEntity(s);
      return JSON.stringify([s.histories[e.id] ?? [], Math.floor(s.now / 3_600_000)]);
    },
    render(doc, s) {
      const e = currentEntity(s);
      return h(doc, 'figure', { class: 'chart-box', 'data-testid': 'health-chart' }, h(doc, 'figcaption', { text: 'Last 30 days' }), healthChart(doc, s.histories[e.id] ?? [], { now: s.now, days: 30 }));
    },
  },

  activity: {
    key: (s) => JSON.stringify((s.activity[currentEntity(s).id] ?? []).slice(0, 5)),
    render(doc, s) {
      const items = (s.activity[currentEntity(s).id] ?? []).slice(0, 5);
      return h(
        doc,
        'section',
        { class: 'activity', 'data-testid': 'activity' },
        h(doc, 'h3', { text: 'Recent activity' }),
        items.length
          ? h(
              doc,
              'ul',
              {},
              items.map((analysis) => {
                const impact = analysis.health_impact ?? {};
                const delta = impact.applied ?? impact.delta ?? 0;
                return h(
                  doc,
                  'li',
                  { 'data-sha': analysis.commit?.sha ?? '' },
                  h(doc, 'span', { class: `delta ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}`, 'data-testid': 'activity-delta', text: appliedText(delta, impact.delta) }),
                  h(doc, 'code', { text: String(analysis.commit?.sha ?? '').slice(0, 7) }),
                  h(doc, 'span', { class: 'message', text: firstLine(analysis.commit?.message) }),
                  h(doc, 'span', { class: 'reasons muted', text: topReasons(analysis).join(' · ') }),
                );
              }),
            )
          : h(doc, 'p', { class: 'muted', text: 'No commits analysed yet.' }),
      );
    },
  },

  // Who keeps the pet alive (caretakers.js); hidden when the repository says `caretakers: off`.
  caretakers: {
    key: (s) => caretakersKey(s, currentEntity(s).id),
    render: (doc, s) => renderCaretakers(doc, s, currentEntity(s).id, h),
  },

  history: {
    key: (s) => JSON.stringify([s.showHistory, s.showHistory ? (s.histories[currentEntity(s).id] ?? []).slice(-10) : null]),
    render(doc, s, actions) {
      const rows = [...(s.histories[currentEntity(s).id] ?? [])].slice(-10).reverse();
      return h(
        doc,
        'section',
        { class: 'history' },
        h(doc, 'button', { type: 'button', class: 'link', 'data-testid': 'toggle-history', 'aria-expanded': String(s.showHistory), text: s.showHistory ? 'Hide health history' : 'View health history', onClick: call(actions.onToggleHistory) }),
        s.showHistory
          ? h(
              doc,
              'ol',
              { 'data-testid': 'history-list' },
              rows.length
                ? rows.map((row) => {
                    const change = appliedText(row.applied ?? row.delta, row.scored_delta);
                    return h(doc, 'li', { 'data-reason': row.change_reason ?? '', 'data-decay-start': row.decay_start ? 'true' : null }, h(doc, 'time', { text: String(row.timestamp ?? row.date ?? '').slice(0, 10) }), ` ${Math.round(row.health_score ?? row.score)}`, change ? ` (${change})` : '', row.change_reason ? ` — ${historyLabel(row)}` : '');
                  })
                : h(doc, 'li', { class: 'muted', text: 'No history yet.' }),
            )
          : null,
      );
    },
  },

  // Hibernation: no decay while asleep; the next commit (or the chosen date) wakes the pet.
  rest: {
    key: (s) => {
      const e = currentEntity(s);
      return JSON.stringify([e.id, Boolean(e.sleeping), e.sleep_until ?? null, s.toast ?? null]);
    },
    render(doc, s, actions) {
      const e = currentEntity(s);
      const asleep = Boolean(e.sleeping);
      const until = e.sleep_until ? ` until ${new Date(e.sleep_until).toLocaleDateString()} or` : ' until';
      const note = asleep ? `Asleep${until} its next commit: no decay.` : 'Resting stops decay until the next commit.';
      const button = h(doc, 'button', {
        type: 'button',
        'data-testid': asleep ? 'wake' : 'hibernate',
        text: asleep ? 'Wake up' : 'Hibernate',
        onClick: (event) => {
          event.currentTarget.disabled = true; // until the answer re-renders this section
          (asleep ? actions.onWake : actions.onHibernate)?.(e.id);
        },
      });
      return h(doc, 'div', { class: 'rest', 'data-testid': 'rest' }, button, h(doc, 'span', { class: 'muted', 'data-testid': 'rest-note', text: note }));
    },
  },

  dashActions: {
    key: () => 'actions',
    render(doc, s, actions) {
      return h(doc, 'div', { class: 'actions' }, h(doc, 'button', { type: 'button', 'data-testid': 'change-repository', text: 'Change repository', onClick: call(actions.onNavigate, 'repositories') }));
    },
  },

  deathPet: {
    key: (s) => {
      const e = currentEntity(s);
      const url = pictureUrl(e, s.serverUrl);
      return JSON.stringify([e.id, e.name, e.type, e.died_at, e.repository?.full_name, url, Boolean(s.pictures?.[url])]);
    },
    render(doc, s) {
      const e = currentEntity(s);
      return h(
        doc,
        'div',
        { class: 'death', 'data-testid': 'death' },
        petPicture(doc, e, s, 96),
        h(doc, 'h2', { 'data-testid': 'pet-name', text: e.name }),
        h(doc, 'p', { text: `${e.name} has died${e.died_at ? ` (${String(e.died_at).slice(0, 10)})` : ''}.` }),
        e.repository?.full_name ? h(doc, 'p', { class: 'muted', text: e.repository.full_name }) : null,
      );
    },
  },

  cooldown: {
    key: (s) => {
      const e = currentEntity(s);
      const left = remainingMs(cooldownExpiresAt(e, s.cooldowns), s.now);
      return JSON.stringify([e.id, Math.ceil(left / 1000), s.resetting, s.resetError?.message ?? null]);
    },
    render(doc, s, actions) {
      const e = currentEntity(s);
      const left = remainingMs(cooldownExpiresAt(e, s.cooldowns), s.now);
      return h(
        doc,
        'div',
        { class: 'cooldown' },
        left > 0
          ? h(doc, 'p', {}, 'A new pet can hatch in ', h(doc, 'strong', { 'data-testid': 'cooldown', text: formatCountdown(left) }))
          : h(doc, 'p', { 'data-testid': 'cooldown-over', text: 'The cooldown is over.' }),
        h(doc, 'button', {
          type: 'button',
          class: 'primary',
          'data-testid': 'revive',
          disabled: left > 0 || s.resetting,
          text: s.resetting ? 'Hatching…' : 'Create new pet',
          onClick: call(actions.onReset, e.id),
        }),
        s.resetError ? h(doc, 'p', { class: 'error-text', role: 'alert', text: s.resetError.message || 'Could not create a new pet.' }) : null,
      );
    },
  },

  settings: {
    key: (s) => JSON.stringify([s.serverUrl, s.session?.user?.username ?? null]),
    render(doc, s, actions) {
      return h(
        doc,
        'div',
        { class: 'settings', 'data-testid': 'settings' },
        h(doc, 'div', { class: 'section-head' }, h(doc, 'button', { type: 'button', class: 'link', 'data-testid': 'back', text: '← Back', onClick: call(actions.onNavigate, 'main') }), h(doc, 'h2', { text: 'Settings' })),
        s.session?.user?.username ? h(doc, 'p', {}, 'Signed in as ', h(doc, 'strong', { text: s.session.user.username })) : null,
        h(doc, 'p', {}, 'Server: ', h(doc, 'code', { 'data-testid': 'server-url', text: s.serverUrl })),
        h(doc, 'button', { type: 'button', 'data-testid': 'open-options', text: 'Change server or notifications…', onClick: call(actions.onOpenOptions) }),
        h(doc, 'button', { type: 'button', class: 'danger', 'data-testid': 'sign-out', text: 'Sign out', onClick: call(actions.onSignOut) }),
      );
    },
  },
};

export const LAYOUT = {
  loading: ['loading'],
  firstrun: ['firstrun'],
  signin: ['signin'],
  error: ['error'],
  offline: ['offline'],
  repositories: ['reposHeader', 'reposSearch', 'reposList'],
  dashboard: ['switcher', 'pet', 'health', 'repo', 'chart', 'activity', 'caretakers', 'history', 'rest', 'dashActions'],
  death: ['switcher', 'deathPet', 'cooldown'],
  settings: ['settings'],
};

/** Render one whole screen as a fresh node: the pure form, used by tests and by the view. */
export function renderScreen(doc, state, actions = {}) {
  const screen = screenOf(state);
  const node = h(doc, 'div', { 'data-screen': screen });
  for (const name of LAYOUT[screen]) node.append(SECTIONS[name].render(doc, state, actions, screen));
  return node;
}

/**
 * A view over `root` that keeps one slot per section and re-renders a section only when its key
 * changes. `update` returns the names of the sections it re-rendered (tests check that a health
 * update leaves the chart and activity alone).
 */
export function createView(doc, root, actions = {}) {
  const header = h(doc, 'header', { 'data-section': 'header' });
  const banner = h(doc, 'div', { 'data-section': 'banner' });
  const main = h(doc, 'main', {});
  root.replaceChildren(header, banner, main);
  const slots = new Map([
    ['header', { el: header, key: null }],
    ['banner', { el: banner, key: null }],
  ]);
  let screen = null;

  function renderSlot(name, state) {
    const slot = slots.get(name);
    const key = SECTIONS[name].key(state, screen);
    if (slot.key === key) return false;
    slot.el.replaceChildren(SECTIONS[name].render(doc, state, actions, screen));
    slot.key = key;
    return true;
  }

  return {
    get screen() {
      return screen;
    },
    update(state) {
      const next = screenOf(state);
      if (next !== screen) {
        screen = next;
        root.dataset.screen = screen;
        main.replaceChildren();
        for (const name of LAYOUT[screen]) {
          const el = h(doc, 'div', { 'data-section': name });
          main.append(el);
          slots.set(name, { el, key: null });
        }
      }
      return ['header', 'banner', ...LAYOUT[screen]].filter((name) => renderSlot(name, state));
    },
  };
}
