"""The hourly decay and death rules as set-based SQL text, for PostgreSQL and SQLite.

Each rule is a handful of statements whatever the number of pets: no row ever travels to Python
except the few whose status or picture changed (they become events). The SQL is
`decay_rules.settle` written for sets, and the tests check that both give the same pets:

* wake: a hibernating pet whose `sleep_until` came wakes at exactly that moment
  (`rules.wake_due`), before decay, so the days it slept are never charged;
* decay: charge every whole day past the checkpoint (`decay_rules.apply_decay`) at the pet's
  own `grace_days` and `decay_per_day` (`decay:` in the repository's config), one history row
  per pet with the total charged; the first charge after the grace is flagged `hungry`
  (`decay_rules.starts_hunger`);
* death: a pet at zero for 24 hours dies at exactly that moment (`decay_rules.apply_death`),
  with a `death` history row.

Every UPDATE re-checks the columns it read (`PG_UNCHANGED`), and on SQLite the first statement
takes the single write lock. Frozen (archived or suspended), dead and non-current pets are never
touched; hibernating pets only wake. `cron.py` runs these statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Boolean, Integer, String, bindparam, text
from sqlalchemy.sql.elements import TextClause

from app.core.models import Json, UTCDateTime
from app.entities import rules

HOUR_US: Final = 3_600_000_000
DAY_US: Final = 24 * HOUR_US
DEATH_HOURS: Final = int(rules.DEATH_AFTER.total_seconds() // 3600)


def _state_rank(column: str) -> str:
    """SQL for the health state of an integer expression, as a comparable rank."""
    return (
        f"CASE WHEN {column} >= {rules.THRIVING_AT} THEN 4 WHEN {column} >= {rules.HEALTHY_AT} "
        f"THEN 3 WHEN {column} >= {rules.OKAY_AT} THEN 2 WHEN {column} >= {rules.POOR_AT} "
        f"THEN 1 ELSE 0 END"
    )


def _status_sql(column: str) -> str:
    """`rules.status_for` for a living pet."""
    return f"CASE WHEN {column} < {rules.POOR_AT} THEN '{rules.DYING}' ELSE '{rules.ALIVE}' END"


# Pets the rules may touch at all (`decay_rules.decays` without the health test).
ELIGIBLE: Final = f"is_current AND NOT frozen AND status <> '{rules.DEAD}'"

CHANGE_COLUMNS: Final = (
    "id, repository_id, name, species, subspecies, old_health, health, old_status, status, "
    '"metadata", old_asleep, asleep, hungry'
)
SELECT_CHANGES: Final = ", ".join(f"c.{c.strip()}" for c in CHANGE_COLUMNS.split(","))
# Where decay may start: `decay_rules.grace_end`, per pet.
PG_GRACE_END: Final = (
    "COALESCE(e.last_commit_at, e.born_at) + make_interval(hours => 24 * e.grace_days)"
)

# --- PostgreSQL: one statement per rule (claim, update, history, changes) ---------------------

PG_NOW: Final = "CAST(:now AS timestamptz)"
PG_BASE: Final = f"GREATEST({PG_GRACE_END}, e.last_decay_at)"

# Claiming rows with FOR UPDATE would write a lock record for every pet. Instead each UPDATE
# re-checks the columns it read: if a commit changed a pet after this statement's snapshot,
# PostgreSQL re-evaluates these conditions on the newest row version and the pet is left for
# the next run (which charges it correctly, since decay catches up).
PG_UNCHANGED: Final = (
    "e.id = c.id AND e.id BETWEEN :lo AND :hi "  # the range again: both sides scan 1/P of ids
    "AND e.health = c.old_health AND e.status = c.old_status "
    "AND e.is_current AND NOT e.frozen AND e.sleeping_since IS NULL "
    "AND e.last_commit_at IS NOT DISTINCT FROM c.old_commit "
    "AND e.last_decay_at IS NOT DISTINCT FROM c.old_decay "
    "AND e.zero_since IS NOT DISTINCT FROM c.old_zero"
)
PG_RANGE: Final = "e.id BETWEEN :lo AND :hi"

PG_WAKE: Final = f"""
WITH upd AS (
    UPDATE entities e SET
        sleeping_since = NULL,
        sleep_until = NULL,
        last_decay_at = CASE WHEN e.last_decay_at IS NULL THEN e.sleep_until
            ELSE GREATEST(e.last_decay_at, e.sleep_until) END,
        zero_since = CASE WHEN e.zero_since IS NULL THEN NULL ELSE e.sleep_until END,
        updated_at = {PG_NOW}
    WHERE {PG_RANGE} AND e.is_current AND NOT e.frozen AND e.status <> '{rules.DEAD}'
      AND e.sleeping_since IS NOT NULL AND e.sleep_until IS NOT NULL
      AND e.sleep_until <= {PG_NOW}
    RETURNING e.id, e.repository_id, e.name, e.species, e.subspecies, e.health AS old_health,
              e.health, e.status AS old_status, e.status, e."metadata", true AS old_asleep,
              false AS asleep, false AS hungry
)
SELECT t.total, {SELECT_CHANGES}
FROM (SELECT count(*) AS total FROM upd) t LEFT JOIN upd c ON true
"""

PG_DECAY: Final = f"""
WITH due AS (
    SELECT e.id, e.health AS old_health, e.status AS old_status, e.last_commit_at AS old_commit,
           e.last_decay_at AS old_decay, e.zero_since AS old_zero, {PG_BASE} AS base,
           e.decay_per_day AS per_day,
           (e.last_decay_at IS NULL OR e.last_decay_at <= {PG_GRACE_END}) AS hungry,
           LEAST(
               floor(extract(epoch FROM ({PG_NOW} - {PG_BASE})) / 86400)::int,
               (e.health + e.decay_per_day - 1) / NULLIF(e.decay_per_day, 0)
           ) AS days
    FROM entities e
    WHERE {PG_RANGE} AND e.is_current AND NOT e.frozen AND e.status <> '{rules.DEAD}'
      AND e.sleeping_since IS NULL AND e.decay_per_day > 0
      AND e.health > 0 AND {PG_BASE} <= {PG_NOW} - make_interval(hours => 24)
), computed AS (
    SELECT due.*, GREATEST(0, old_health - per_day * days) AS new_health FROM due
), upd AS (
    UPDATE entities e SET
        health = c.new_health,
        status = {_status_sql("c.new_health")},
        last_decay_at = c.base + make_interval(hours => 24 * c.days),
        zero_since = CASE WHEN c.new_health > 0 THEN NULL
            ELSE COALESCE(e.zero_since, c.base + make_interval(hours => 24 * c.days)) END,
        updated_at = {PG_NOW}
    FROM computed c
    WHERE {PG_UNCHANGED}
    RETURNING e.id, c.old_health, c.old_status, e.health, e.status, c.hungry
), hist AS (
    INSERT INTO health_history (entity_id, health_score, delta, reason, recorded_at)
    SELECT id, health, health - old_health, '{rules.REASON_DECAY}', {PG_NOW} FROM upd
), changed AS (
    SELECT u.id, e.repository_id, e.name, e.species, e.subspecies, u.old_health, u.health,
           u.old_status, u.status, e."metadata", false AS old_asleep, false AS asleep, u.hungry
    FROM upd u JOIN entities e ON e.id = u.id
    WHERE u.old_status <> u.status OR u.health = 0 OR u.hungry
       OR {_state_rank("u.old_health")} <> {_state_rank("u.health")}
)
SELECT t.total, {SELECT_CHANGES}
FROM (SELECT count(*) AS total FROM upd) t LEFT JOIN changed c ON true
"""

PG_DEATH: Final = f"""
WITH upd AS (
    UPDATE entities e SET
        status = '{rules.DEAD}',
        died_at = e.zero_since + make_interval(hours => :death_hours),
        updated_at = {PG_NOW}
    FROM (
        SELECT e.id, e.health AS old_health, e.status AS old_status,
               e.last_commit_at AS old_commit, e.last_decay_at AS old_decay,
               e.zero_since AS old_zero
        FROM entities e
        WHERE {PG_RANGE} AND e.is_current AND NOT e.frozen AND e.status <> '{rules.DEAD}'
          AND e.sleeping_since IS NULL AND e.health <= 0 AND e.zero_since IS NOT NULL
          AND e.zero_since <= {PG_NOW} - make_interval(hours => :death_hours)
    ) c
    WHERE {PG_UNCHANGED}
    RETURNING e.id, e.health, c.old_status, e.status, e.died_at
), hist AS (
    INSERT INTO health_history (entity_id, health_score, delta, reason, recorded_at)
    SELECT id, health, 0, '{rules.REASON_DEATH}', died_at FROM upd
), changed AS (
    SELECT u.id, e.repository_id, e.name, e.species, e.subspecies, u.health AS old_health,
           u.health, u.old_status, u.status, e."metadata", false AS old_asleep,
           false AS asleep, false AS hungry
    FROM upd u JOIN entities e ON e.id = u.id
)
SELECT t.total, {SELECT_CHANGES}
FROM (SELECT count(*) AS total FROM upd) t LEFT JOIN changed c ON true
"""

# One cron run per id range at a time (a second run waits, then finds nothing owed), and enough
# memory for the self-join to hash in one pass. Transaction-scoped: released at commit.
PG_PREPARE: Final = (
    "SELECT pg_advisory_xact_lock(:lock_key, :part), set_config('work_mem', :work_mem, true)"
)
PG_ID_BOUNDS: Final = "SELECT min(id), max(id) FROM entities"
LOCK_KEY: Final = 0x7A6D  # "tamagitto decay"
WORK_MEM: Final = "128MB"

# --- SQLite: integer microseconds, insert history first (it takes the write lock) -------------


# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): exact µs both ways.
def _us(column: str) -> str:
    """Microseconds since the epoch of a stored datetime (NULL stays NULL)."""
    return (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 "
        f"+ CAST(substr({column}, 21, 6) AS INTEGER))"
    )


def _ts(expr: str) -> str:
    """A stored datetime string for microseconds since the epoch."""
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', ({expr}) / 1000000, 'unixepoch') || '.' "
        f"|| printf('%06d', ({expr}) % 1000000))"
    )


SQLITE_WAKE_UPDATE: Final = f"""
UPDATE entities SET
    sleeping_since = NULL,
    sleep_until = NULL,
    last_decay_at = CASE WHEN last_decay_at IS NULL THEN sleep_until
        ELSE {_ts(f"max({_us('last_decay_at')}, {_us('sleep_until')})")} END,
    zero_since = CASE WHEN zero_since IS NULL THEN NULL ELSE sleep_until END,
    updated_at = :now
WHERE {ELIGIBLE} AND sleeping_since IS NOT NULL AND sleep_until IS NOT NULL
  AND {_us("sleep_until")} <= :now_us
RETURNING id, repository_id, name, species, subspecies, health AS old_health, health,
          status AS old_status, status, "metadata", 1 AS old_asleep, 0 AS asleep, 0 AS hungry
"""

# `ref` is `decay_rules.grace_end`; `hungry` is `decay_rules.starts_hunger` for the pets that
# are due.
SQLITE_DUE: Final = f"""
SELECT id, old_health, base, days, hungry, max(0, old_health - per_day * days) AS new_health
FROM (
    SELECT id, old_health, base, per_day, hungry,
           min((:now_us - base) / {DAY_US}, (old_health + per_day - 1) / per_day) AS days
    FROM (
        SELECT id, health AS old_health, per_day,
               CASE WHEN last_decay_at IS NULL THEN ref ELSE max(ref, {_us("last_decay_at")}) END
               AS base,
               (last_decay_at IS NULL OR {_us("last_decay_at")} <= ref) AS hungry
        FROM (
            SELECT id, health, last_decay_at, decay_per_day AS per_day,
                   {_us("coalesce(last_commit_at, born_at)")} + grace_days * {DAY_US} AS ref
            FROM entities
            WHERE {ELIGIBLE} AND sleeping_since IS NULL AND decay_per_day > 0 AND health > 0
        )
    )
    WHERE base + {DAY_US} <= :now_us
)
"""

SQLITE_HUNGRY: Final = f"SELECT id FROM ({SQLITE_DUE}) WHERE hungry"

SQLITE_DECAY_HISTORY: Final = f"""
INSERT INTO health_history (entity_id, health_score, delta, reason, recorded_at)
SELECT id, new_health, new_health - old_health, '{rules.REASON_DECAY}', :now FROM ({SQLITE_DUE})
"""

SQLITE_DECAY_UPDATE: Final = f"""
UPDATE entities SET
    health = d.new_health,
    status = {_status_sql("d.new_health")},
    last_decay_at = {_ts(f"d.base + {DAY_US} * d.days")},
    zero_since = CASE WHEN d.new_health > 0 THEN NULL
        ELSE coalesce(entities.zero_since, {_ts(f"d.base + {DAY_US} * d.days")}) END,
    updated_at = :now
FROM ({SQLITE_DUE}) AS d
WHERE entities.id = d.id
"""

SQLITE_DEATH_DUE: Final = (
    f"{ELIGIBLE} AND sleeping_since IS NULL AND health <= 0 AND zero_since IS NOT NULL "
    f"AND {_us('zero_since')} + :death_us <= :now_us"
)

SQLITE_DEATH_HISTORY: Final = f"""
INSERT INTO health_history (entity_id, health_score, delta, reason, recorded_at)
SELECT id, health, 0, '{rules.REASON_DEATH}', {_ts(f"{_us('zero_since')} + :death_us")}
FROM entities WHERE {SQLITE_DEATH_DUE}
"""

SQLITE_DEATH_UPDATE: Final = f"""
UPDATE entities SET
    status = '{rules.DEAD}',
    died_at = {_ts(f"{_us('zero_since')} + :death_us")},
    updated_at = :now
WHERE {SQLITE_DEATH_DUE}
"""

# The history rows this run inserted are the id range (last - count, last]; they carry the
# health before (health_score - delta) and after, so the changes can be read back from them.
SQLITE_CHANGES: Final = f"""
SELECT e.id, e.repository_id, e.name, e.species, e.subspecies,
       h.health_score - h.delta AS old_health, h.health_score AS health,
       CASE WHEN h.reason = '{rules.REASON_DEATH}' THEN '{rules.DYING}'
            ELSE {_status_sql("h.health_score - h.delta")} END AS old_status,
       e.status, e."metadata", 0 AS old_asleep, 0 AS asleep, 0 AS hungry
FROM health_history h JOIN entities e ON e.id = h.entity_id
WHERE h.id > :first_after AND h.id <= :last
  AND (h.reason = '{rules.REASON_DEATH}' OR h.health_score = 0 OR h.entity_id IN :hungry
       OR e.status <> {_status_sql("h.health_score - h.delta")}
       OR {_state_rank("h.health_score - h.delta")} <> {_state_rank("h.health_score")})
"""

RESULT_TYPES: Final[dict[str, Any]] = {
    "id": Integer,
    "repository_id": Integer,
    "name": String,
    "species": String,
    "subspecies": String,
    "old_health": Integer,
    "health": Integer,
    "old_status": String,
    "status": String,
    "metadata": Json,
    "old_asleep": Boolean,
    "asleep": Boolean,
    "hungry": Boolean,
}


def clause(sql: str) -> TextClause:
    """Text SQL with `:now`, when used, bound as an aware datetime (stored format on SQLite)."""
    statement = text(sql)
    if ":now" in sql.replace(":now_us", ""):
        statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
    return statement


def pg_params(now: datetime, lo: int, hi: int, part: int) -> dict[str, Any]:
    """Bind values shared by the PostgreSQL statements (hours, not days: DST-proof)."""
    return {
        "now": now,
        "death_hours": DEATH_HOURS,
        "lo": lo,
        "hi": hi,
        "lock_key": LOCK_KEY,
        "part": part,
        "work_mem": WORK_MEM,
    }


def sqlite_params(now: datetime) -> dict[str, Any]:
    """Bind values for SQLite: microseconds instead of intervals."""
    return {
        "now": now,
        "now_us": int(now.timestamp()) * 1_000_000 + now.microsecond,
        "death_us": DEATH_HOURS * HOUR_US,
    }


__all__ = [
    "PG_DEATH",
    "PG_DECAY",
    "PG_ID_BOUNDS",
    "PG_PREPARE",
    "PG_WAKE",
    "RESULT_TYPES",
    "SQLITE_CHANGES",
    "SQLITE_DEATH_HISTORY",
    "SQLITE_DEATH_UPDATE",
    "SQLITE_DECAY_HISTORY",
    "SQLITE_DECAY_UPDATE",
    "SQLITE_HUNGRY",
    "SQLITE_WAKE_UPDATE",
    "clause",
    "pg_params",
    "sqlite_params",
]
