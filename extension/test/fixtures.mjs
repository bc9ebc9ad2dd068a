/** Contract-shaped sample data (CONTRACTS.md), shared by the unit tests and the fake API server. */

export const NOW = Date.parse('2026-11-25T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

export function entity(overrides = {}) {
  return {
    id: 'ent-1',
    name: 'Mochi',
    type: 'pet',
    species: 'cat',
    health_score: 72,
    state: 'healthy',
    status: 'alive',
    generation: 1,
    visual_url: null,
    repository: { full_name: 'octo/mochi', language: 'TypeScript' },
    last_updated: new Date(NOW - 60_000).toISOString(),
    created_at: new Date(NOW - 40 * DAY).toISOString(),
    ...overrides,
  };
}

export function deadEntity(overrides = {}) {
  return entity({
    id: 'ent-dead',
    name: 'Basil',
    type: 'plant',
    species: 'fern',
    health_score: 0,
    state: 'dying',
    status: 'dead',
    died_at: new Date(NOW - 2 * 60 * 60 * 1000).toISOString(),
    repository: { full_name: 'octo/basil', language: 'Python' },
    ...overrides,
  });
}

/** Thirty daily points ending at `now`, rising from 50 to 79. */
export function history(now = NOW, days = 30) {
  return Array.from({ length: days }, (_, i) => ({
    timestamp: new Date(now - (days - 1 - i) * DAY).toISOString(),
    health_score: 50 + i,
    change_reason: i % 2 ? 'tests added' : 'daily decay',
    delta: i ? 1 : 0,
  }));
}

export function analysis(overrides = {}) {
  return {
    id: 'an-1',
    repository: 'octo/mochi',
    commit: { sha: 'a1b2c3d4e5f6a7b8c9d0', message: 'Add parser tests\n\nLonger body', author: 'octocat', committed_at: new Date(NOW - 3_600_000).toISOString() },
    quality_metrics: { overall_score: 81, complexity_score: 70, test_coverage_delta: 4, documentation_score: 60, linting_violations: 0, security_issues: 0 },
    health_impact: {
      delta: 4,
      reason: 'tests added',
      reasons: [
        { code: 'tests_added', points: 5, detail: 'tests added' },
        { code: 'complexity_up', points: -1, detail: 'complexity rose' },
        { code: 'docs', points: 0.5, detail: 'docstring added' },
      ],
    },
    processed_at: new Date(NOW - 3_500_000).toISOString(),
    ...overrides,
  };
}

export function repositories() {
  return [
    { id: 101, full_name: 'octo/mochi', private: false, language: 'TypeScript', default_branch: 'main', updated_at: new Date(NOW).toISOString(), monitoring_enabled: true },
    { id: 102, full_name: 'octo/basil', private: true, language: 'Python', default_branch: 'main', updated_at: new Date(NOW).toISOString(), monitoring_enabled: false },
    { id: 103, full_name: 'octo/gears', private: false, language: 'Go', default_branch: 'main', updated_at: new Date(NOW).toISOString(), monitoring_enabled: false },
  ];
}

export function session(overrides = {}) {
  return {
    token: 'session-token-abc',
    user: { id: 1, username: 'octocat', avatar_url: 'https://avatars.example/octocat', email: null },
    expires_at: new Date(NOW + 24 * 60 * 60 * 1000).toISOString(),
    ...overrides,
  };
}
