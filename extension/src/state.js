/** The popup's state and its screen machine: a pure reducer, and the screen each state shows. */

import { DEFAULT_SERVER_URL, KEYS } from './config.js';
import { findEntity } from './store.js';

export const SCREENS = ['loading', 'firstrun', 'signin', 'repositories', 'dashboard', 'death', 'error', 'offline', 'settings'];

const emptyRepositories = () => ({ items: null, loading: false, error: null, query: '', pending: {} });

/** The fields cached in storage.local, as they are before anything is stored. */
const emptyCache = () => ({
  serverUrl: DEFAULT_SERVER_URL,
  session: null,
  entities: [],
  currentEntityId: null,
  histories: {},
  activity: {},
  cooldowns: {},
  lastUpdated: null,
  connection: null,
  pictures: {},
  caretakers: {},
});

export function initialState(now = 0) {
  return {
    booted: false,
    now,
    ...emptyCache(),
    // popup only
    view: 'main', // 'main' | 'repositories' | 'settings'
    loading: false,
    error: null,
    signingIn: false,
    signInError: null,
    repositories: emptyRepositories(),
    showHistory: false,
    resetting: false,
    resetError: null,
    toast: null,
    serverSaved: true, // readCache says false until a server was chosen and checked
    serverCheck: { busy: false, error: null },
  };
}

// storage key -> state field (they are the same names today; this keeps the reducer honest).
const CACHED_FIELDS = {
  [KEYS.serverUrl]: 'serverUrl',
  [KEYS.session]: 'session',
  [KEYS.entities]: 'entities',
  [KEYS.currentEntityId]: 'currentEntityId',
  [KEYS.histories]: 'histories',
  [KEYS.activity]: 'activity',
  [KEYS.cooldowns]: 'cooldowns',
  [KEYS.lastUpdated]: 'lastUpdated',
  [KEYS.connection]: 'connection',
  [KEYS.pictures]: 'pictures',
  [KEYS.caretakers]: 'caretakers',
};

/** `changes` maps storage keys to their new values (undefined = removed). */
function applyStorageChanges(state, changes) {
  const next = { ...state };
  for (const [key, value] of Object.entries(changes)) {
    const field = CACHED_FIELDS[key];
    if (field) next[field] = value === undefined ? emptyCache()[field] : value;
  }
  if (KEYS.serverUrl in changes) next.serverSaved = Boolean(changes[KEYS.serverUrl]);
  if (state.session && !next.session) {
    // Signed out (by the user, or by a 401 anywhere): nothing of the old view survives.
    return { ...initialState(state.now), booted: true, serverUrl: next.serverUrl };
  }
  if (!state.session && next.session) return { ...next, signingIn: false, signInError: null };
  // A live update that arrives while offline proves the connection is back.
  if (next.error?.kind === 'network' && next.connection?.state === 'live') next.error = null;
  return next;
}

export function reduce(state, action) {
  switch (action.type) {
    case 'cache':
      return { ...state, ...action.cache, booted: true, now: action.now ?? state.now };
    case 'storage':
      return applyStorageChanges(state, action.changes);
    case 'tick':
      return { ...state, now: action.now };
    case 'refresh:start':
      return { ...state, loading: true };
    case 'refresh:done':
      return { ...state, loading: false, error: action.result?.ok ? null : action.result?.error ?? null, now: action.now ?? state.now };
    case 'signin:start':
      return { ...state, signingIn: true, signInError: null };
    case 'signin:done':
      return { ...state, signingIn: false, signInError: action.result?.ok ? null : action.result?.error ?? null };
    case 'navigate':
      return { ...state, view: action.view, showHistory: false, resetError: null };
    case 'select':
      return { ...state, currentEntityId: action.id, showHistory: false, resetError: null };
    case 'history:toggle':
      return { ...state, showHistory: !state.showHistory };
    case 'repos:start':
      return { ...state, repositories: { ...state.repositories, loading: true, error: null } };
    case 'repos:done':
      return { ...state, repositories: { ...state.repositories, loading: false, items: action.items } };
    case 'repos:failed':
      return { ...state, repositories: { ...state.repositories, loading: false, error: action.error } };
    case 'repos:query':
      return { ...state, repositories: { ...state.repositories, query: action.query } };
    case 'repos:pending': {
      const pending = { ...state.repositories.pending, [action.id]: true };
      return { ...state, repositories: { ...state.repositories, pending, error: null } };
    }
    case 'repos:toggled': {
      const { [action.id]: _done, ...pending } = state.repositories.pending;
      const items = (state.repositories.items ?? []).map((repo) =>
        repoKey(repo) === action.id && action.monitoring !== undefined
          ? { ...repo, monitoring_enabled: action.monitoring }
          : repo,
      );
      return { ...state, repositories: { ...state.repositories, items, pending, error: action.error ?? null } };
    }
    case 'reset:start':
      return { ...state, resetting: true, resetError: null };
    case 'reset:done':
      return { ...state, resetting: false, resetError: action.error ?? null };
    case 'server:start':
      return { ...state, serverCheck: { busy: true, error: null } };
    case 'server:done':
      return { ...state, serverCheck: { busy: false, error: action.error ?? null } };
    case 'toast':
      return { ...state, toast: action.text };
    case 'toast:clear':
      return { ...state, toast: null };
    default:
      return state;
  }
}

export function repoKey(repo) {
  return String(repo.github_repo_id ?? repo.id);
}

export function currentEntity(state) {
  return findEntity(state.entities, state.currentEntityId) ?? state.entities[0] ?? null;
}

export function isOffline(state) {
  return state.error?.kind === 'network' || state.connection?.state === 'offline';
}

/** Which screen a state shows. Cached pets win over loading, error and offline: they show with a banner. */
export function screenOf(state) {
  if (!state.booted) return 'loading';
  if (!state.session && state.serverSaved === false) return 'firstrun';
  if (!state.session) return 'signin';
  if (state.view === 'settings') return 'settings';
  if (state.view === 'repositories') return 'repositories';
  const entity = currentEntity(state);
  if (entity) return entity.status === 'dead' ? 'death' : 'dashboard';
  if (state.loading || (!state.lastUpdated && !state.error)) return 'loading';
  if (state.error?.kind === 'network') return 'offline';
  if (state.error && state.error.code !== 'no_active_entity') return 'error';
  return 'repositories'; // signed in, no pet yet: choose a repository to hatch one
}

/** Repositories matching the search box, monitored ones first. */
export function visibleRepositories(state) {
  const query = state.repositories.query.trim().toLowerCase();
  return (state.repositories.items ?? [])
    .filter((repo) => !query || repo.full_name.toLowerCase().includes(query))
    .sort((a, b) => Number(Boolean(b.monitoring_enabled)) - Number(Boolean(a.monitoring_enabled)));
}
