"""Benchmark: one hourly decay run over N pets on PostgreSQL, history rows included.

    uv run python bench/decay.py            # N = 100,000 and 1,000,000
    uv run python bench/decay.py --quick    # N = 100,000 only (well under a minute)
    uv run python bench/decay.py --pets 250000

Each size gets a fresh database (created with a random name, migrated with alembic, dropped at
the end), filled with one repository and one current pet per N through set-based
`INSERT … SELECT generate_series` bulk inserts, then VACUUM ANALYZE'd like a long-lived table.
Every pet owes decay (the worst hour: all pets due at once) and a few owe death. The timed part
is exactly what the hourly job runs: `app.entities.cron.run_cron` (its id ranges in parallel).

Round trips are counted from SQLAlchemy's engine events (statements plus BEGIN, COMMIT and
ROLLBACK) and must not depend on N. Because the machine may be shared, the CPU time the
PostgreSQL backends spent on the run (from /proc, when the server is local) and the load
average are printed too: on an idle machine the wall time is at least that CPU time divided by
the cores. The last line printed is one JSON object for the largest N; `ratio` is target /
measured, so above 1 means faster than the target (20 s for 1,000,000 pets, scaled linearly for
other sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core import db
from app.entities import rules
from app.entities.cron import PG_PARTITIONS, run_cron

ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_SECONDS_PER_MILLION = 20.0
FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (100_000,)
NOW = datetime(2026, 6, 1, 12, 7, tzinfo=UTC)
DYING_EVERY = 1000  # one pet in 1000 sits at zero long enough to die in this run

FILL_REPOSITORIES = """
INSERT INTO repositories (github_id, full_name, owner_login, private, default_branch, language,
                          monitoring_enabled, archived, config, created_at, updated_at)
SELECT 10000000 + g, 'owner' || (g % 5000) || '/repo' || g, 'owner' || (g % 5000), false, 'main',
       (ARRAY['Python', 'TypeScript', 'Go', 'Java', 'Ruby'])[1 + g % 5], true, false, '{}'::jsonb,
       :now, :now
FROM generate_series(1, :n) AS g
"""

# Health 20..100; last decay 25 hours ago, last commit well past the grace period, so every
# pet owes exactly one day. Every DYING_EVERY-th pet has sat at zero for two days.
FILL_ENTITIES = """
INSERT INTO entities (repository_id, generation, name, species, subspecies, health, status,
                      is_current, frozen, born_at, last_commit_at, last_decay_at, zero_since,
                      updated_at, "metadata")
SELECT r.id, 1, 'Pet' || r.id, 'plant', 'fern', h.health,
       CASE WHEN h.health < 20 THEN 'dying' ELSE 'alive' END, true, false,
       :now - interval '60 days', :now - interval '10 days',
       CASE WHEN h.health > 0 THEN :now - interval '25 hours' END,
       CASE WHEN h.health = 0 THEN :now - interval '2 days' END,
       :now - interval '1 day', '{"images": {}}'::jsonb
FROM repositories r
CROSS JOIN LATERAL (
    SELECT CASE WHEN r.id % :dying_every = 0 THEN 0 ELSE 20 + (r.id * 7919) % 81 END AS health
) h
"""


@dataclass
class Figures:
    """One size's measurements."""

    pets: int
    fill_seconds: float
    decay_seconds: float
    target_seconds: float
    ratio: float
    round_trips: int
    decayed: int
    died: int
    history_rows: int
    db_cpu_seconds: float | None
    load_average: float


async def admin(sql: str) -> None:
    """Run one statement on the admin database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_url(name: str) -> str:
    """SQLAlchemy URL of a database next to the admin one."""
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def fill(url: str, pets: int) -> float:
    """Bulk-insert repositories and pets, then VACUUM ANALYZE; returns seconds taken."""
    engine = db.create_engine(url)
    started = time.perf_counter()
    try:
        async with engine.begin() as conn:
            params = {"now": NOW, "n": pets, "dying_every": DYING_EVERY}
            await conn.execute(_sql(FILL_REPOSITORIES), params)
            await conn.execute(_sql(FILL_ENTITIES), params)
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE repositories, entities, health_history"))
    finally:
        await engine.dispose()
    return time.perf_counter() - started


def _sql(template: str) -> Any:
    """Text SQL with `:now` typed for PostgreSQL (it is compared with intervals)."""
    return text(template.replace(":now", "CAST(:now AS timestamptz)"))


class RoundTrips:
    """Counts statements and transaction control (BEGIN, COMMIT, ROLLBACK) sent by one engine.

    asyncpg also prepares each new statement text once per connection (one more exchange), so
    network round trips are at most about twice this count; neither depends on N.
    """

    def __init__(self) -> None:
        self.count = 0

    def attach(self, sync_engine: Any) -> None:
        """Listen on the engine's statement, begin and commit events."""
        for name in ("before_cursor_execute", "begin", "commit", "rollback"):
            event.listen(sync_engine, name, self._bump)

    def _bump(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1


def backend_cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU of these PostgreSQL backends (same machine only; None otherwise)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


async def open_backends(engine: Any, count: int) -> list[int]:
    """Fill the pool with `count` connections (outside the timing) and return their pids."""
    conns = [await engine.connect() for _ in range(count)]
    try:
        return [int(await c.scalar(text("SELECT pg_backend_pid()"))) for c in conns]
    finally:
        for conn in conns:
            await conn.close()


async def timed_decay(url: str, partitions: int) -> tuple[float, int, int, int, int, float | None]:
    """One cron run: (seconds, round trips, decayed, died, history rows, backend CPU)."""
    engine = db.create_engine(url)
    try:
        maker = db.make_sessionmaker(engine)
        pids = await open_backends(engine, partitions + 1)
        cpu_before = backend_cpu_seconds(pids)
        trips = RoundTrips()
        trips.attach(engine.sync_engine)
        started = time.perf_counter()
        result = await run_cron(maker, NOW, partitions=partitions)
        seconds = time.perf_counter() - started
        round_trips = trips.count
        cpu_after = backend_cpu_seconds(pids)
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        async with engine.connect() as conn:
            history = await conn.scalar(text("SELECT count(*) FROM health_history"))
    finally:
        await engine.dispose()
    return seconds, round_trips, result.decayed, result.died, int(history or 0), cpu


async def measure(pets: int, partitions: int) -> Figures:
    """Create, fill, time, check and drop one database."""
    name = f"tamagitto_bench_{uuid.uuid4().hex[:10]}"
    await admin(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    try:
        await db.upgrade_async(url)
        fill_seconds = await fill(url, pets)
        seconds, trips, decayed, died, history, cpu = await timed_decay(url, partitions)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    expected_deaths = pets // DYING_EVERY
    if decayed != pets - expected_deaths or died != expected_deaths or history != pets:
        raise SystemExit(
            f"wrong result for {pets} pets: decayed={decayed} died={died} history={history}"
        )
    target = TARGET_SECONDS_PER_MILLION * pets / 1_000_000
    return Figures(
        pets=pets,
        fill_seconds=round(fill_seconds, 2),
        decay_seconds=round(seconds, 3),
        target_seconds=round(target, 3),
        ratio=round(target / seconds, 2),
        round_trips=trips,
        decayed=decayed,
        died=died,
        history_rows=history,
        db_cpu_seconds=None if cpu is None else round(cpu, 2),
        load_average=os.getloadavg()[0],
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """--quick, or explicit --pets sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100,000 only")
    parser.add_argument("--pets", type=int, action="append", help="a size (repeatable)")
    parser.add_argument(
        "--partitions",
        type=int,
        default=PG_PARTITIONS,
        help="parallel id ranges (default: %(default)s)",
    )
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    """Measure each size, print a line per size, and the largest as the final JSON line."""
    args = parse_args(argv)
    sizes = tuple(args.pets) if args.pets else QUICK_SIZES if args.quick else FULL_SIZES
    assert rules.DECAY_PER_DAY > 0
    results = []
    for pets in sorted(sizes):
        figures = await measure(pets, args.partitions)
        results.append(figures)
        print(
            f"{pets:>9,} pets: decay {figures.decay_seconds:.2f} s "
            f"(target {figures.target_seconds:g} s, ratio {figures.ratio}), "
            f"{figures.round_trips} round trips, database CPU {figures.db_cpu_seconds} s, "
            f"load average {figures.load_average:.1f}, fill {figures.fill_seconds:.1f} s",
            flush=True,
        )
    if len({f.round_trips for f in results}) > 1:
        raise SystemExit("round trips depend on the number of pets")
    last = asdict(results[-1])
    keys = ("pets", "decay_seconds", "target_seconds", "ratio", "round_trips")
    extra = {"partitions": args.partitions, "db_cpu_seconds": last["db_cpu_seconds"]}
    print(json.dumps({**{k: last[k] for k in keys}, **extra}))


if __name__ == "__main__":
    asyncio.run(main())
