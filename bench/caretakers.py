"""Benchmark: a pet's caretakers and achievements with 100,000 analyses, on PostgreSQL.

    uv run python bench/caretakers.py            # 100,000 analyses, 9 neighbours as big, 30 runs
    uv run python bench/caretakers.py --quick    # 100,000 analyses, 4 half as big, 8 runs

A fresh database (random name, migrated with alembic, dropped at the end) gets one repository
whose pet has N analyses over three years by twelve people (three linked to GitHub, a sixth of
the commits co-authored), credited and granted by the same code production uses
(`app.entities.credit`, the ledger over `app.entities.achievements`, which is also timed: the
full recompute from the analyses), plus neighbouring repositories with their own analyses so
the indexes have something to tell apart. Tables are VACUUM ANALYZE'd like long-lived ones.

The timed part is what `GET /api/entities/{id}/caretakers` runs: `app.read.caretakers.caretakers`
(the last 30 days and all time with best commits and streaks, the pet's streak, the
achievements). Its statements are captured and run again under `EXPLAIN (ANALYZE, FORMAT
JSON)`: the plan's scans are printed, and `index_used` says whether every scan of
`analysis_credits` goes through an index. The commit path's cost on such a pet (credit and
grant one more commit, rolled back) is printed too. The last line is one JSON object; `ratio`
is the 200 ms target over the median, so above 1 is faster than the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core import db
from app.core.models import CommitAnalysis, Entity
from app.entities import credit
from app.entities.achievements import Step
from app.entities.ledger import Ledger
from app.entities.streaks import day_number
from app.jobs import care_context, caretaking
from app.read import caretakers

ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_MS = 200.0
ANALYSES = 100_000
START = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=1095)
PEOPLE = [
    ("Ada Lovelace", "ada@example.com", "ada"),
    ("Grace Hopper", "grace@example.com", "grace"),
    ("Linus", "linus@example.com", "linus"),
] + [(f"Dev {i}", f"dev{i}@example.com", None) for i in range(9)]
CODES = ("tests_added", "docs_added", "complexity_reduced", "complexity_added", "lint_introduced")


async def admin(sql: str) -> None:
    """One statement on the admin database (CREATE/DROP DATABASE)."""
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_url(name: str) -> str:
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def synthetic(count: int, seed: int = 18) -> list[dict[str, Any]]:
    """A deterministic history: who, when, how much, why (reasons that add up to the delta)."""
    rng, step = random.Random(seed), SPAN / count
    found = []
    for i in range(count):
        name, email, login = PEOPLE[min(int(rng.paretovariate(1.2)) - 1, len(PEOPLE) - 1)]
        delta = rng.choice((-6, -3, -2, -1, 0, 0, 1, 1, 2, 3, 4, 6, 11))
        code = CODES[
            3 if delta < 0 and rng.random() < 0.5 else 4 if delta < 0 else rng.randrange(3)
        ]
        message = f"Change {i}"
        if rng.random() < 1 / 6:
            co = PEOPLE[rng.randrange(len(PEOPLE))]
            message += f"\n\nCo-authored-by: {co[0]} <{co[1]}>"
        found.append(
            {
                "sha": f"{i:040x}",
                "at": START + i * step,
                "delta": delta,
                "reasons": [{"code": code, "points": delta, "detail": code.replace("_", " ")}],
                "name": name,
                "email": email,
                "login": login,
                "message": message,
            }
        )
    return found


def ledger_of(history: list[dict[str, Any]]) -> tuple[Ledger, list[list[credit.Credit]], float]:
    """Credit and grant the whole history in memory: the full recompute, timed."""
    started, ledger, credited = time.perf_counter(), Ledger(), []
    for item in history:
        found = credit.credits(
            item["name"], item["email"], item["login"], item["message"], item["delta"]
        )
        step = Step(
            item["sha"],
            item["at"],
            item["delta"],
            tuple((r["code"], r["points"]) for r in item["reasons"]),
        )
        ledger.observe(item["at"], 90, 1)
        ledger.record(step, found)
        credited.append(credit.resolve(found, ledger.known))
    return ledger, credited, time.perf_counter() - started


async def copy_history(
    conn: asyncpg.Connection,
    history: list[dict[str, Any]],
    credited: list[list[credit.Credit]],
    ledger: Ledger,
) -> None:
    """COPY the pet's analyses, credits and grants (repository 1, entity 1, ids from 1)."""
    await conn.copy_records_to_table(
        "commit_analyses",
        columns=[
            "id",
            "repository_id",
            "entity_id",
            "sha",
            "message",
            "author_name",
            "author_email",
            "author_login",
            "committed_at",
            "processed_at",
            "health_delta",
            "reasons",
            "detail",
            "quality_score",
            "complexity_score",
            "test_coverage_delta",
            "documentation_score",
            "linting_violations",
            "security_issues",
        ],
        records=[
            (
                i + 1,
                1,
                1,
                h["sha"],
                h["message"],
                h["name"],
                h["email"],
                h["login"],
                h["at"],
                h["at"],
                h["delta"],
                json.dumps(h["reasons"]),
                "{}",
                5.0,
                0.0,
                0.0,
                0.0,
                0,
                0,
            )
            for i, h in enumerate(history)
        ],
    )
    rows = []
    for i, (h, found) in enumerate(zip(history, credited, strict=True)):
        step = Step(
            h["sha"], h["at"], h["delta"], tuple((r["code"], r["points"]) for r in h["reasons"])
        )
        for c in found:
            p = c.person
            rows.append(
                (
                    i + 1,
                    1,
                    1,
                    p.key,
                    p.login,
                    p.name,
                    p.email_hash,
                    c.role,
                    c.points,
                    h["delta"],
                    step.lint_clean,
                    step.complexity,
                    h["at"],
                    day_number(h["at"]),
                )
            )
    await conn.copy_records_to_table(
        "analysis_credits",
        columns=[
            "analysis_id",
            "repository_id",
            "entity_id",
            "person_key",
            "login",
            "name",
            "email_hash",
            "role",
            "points",
            "delta",
            "lint_clean",
            "complexity",
            "committed_at",
            "day",
        ],
        records=rows,
    )
    index = {h["sha"]: i + 1 for i, h in enumerate(history)}
    await conn.copy_records_to_table(
        "achievements",
        columns=[
            "repository_id",
            "entity_id",
            "analysis_id",
            "person_key",
            "login",
            "name",
            "code",
            "sha",
            "earned_at",
            "created_at",
        ],
        records=[
            (
                1,
                1,
                index[g.sha],
                g.person.key,
                g.person.login,
                g.person.name,
                g.kind.code,
                g.sha,
                g.at,
                g.at,
            )
            for g in ledger.grants
        ],
    )


NEIGHBOURS = """
INSERT INTO commit_analyses (id, repository_id, entity_id, sha, message, committed_at,
    processed_at, health_delta, reasons, detail, quality_score, complexity_score,
    test_coverage_delta, documentation_score, linting_violations, security_issues)
SELECT :base + g, :repo, :repo, lpad(to_hex(g), 40, '0'), 'noise',
       CAST(:start AS timestamptz) + g * interval '5 min',
       CAST(:start AS timestamptz) + g * interval '5 min', (g % 9) - 4, '[]', '{}', 5, 0, 0, 0, 0, 0
FROM generate_series(1, :n) AS g;
INSERT INTO analysis_credits (analysis_id, repository_id, entity_id, person_key, name, role,
    points, delta, lint_clean, complexity, committed_at, day)
SELECT :base + g, :repo, :repo, 'email:' || (g % 40), 'n' || (g % 40), 'author', (g % 9) - 4,
       (g % 9) - 4, true, 0, CAST(:start AS timestamptz) + g * interval '5 min',
       (extract(epoch from CAST(:start AS timestamptz) + g * interval '5 min') / 86400)::int
FROM generate_series(1, :n) AS g
"""


async def fill(url: str, count: int, neighbours: int, size: int) -> tuple[float, float, int]:
    """The pet and `neighbours` repositories of `size` analyses; returns (fill seconds, recompute
    seconds, grants)."""
    started = time.perf_counter()
    history = synthetic(count)
    ledger, credited, recompute = ledger_of(history)
    engine = db.create_engine(url)
    async with engine.begin() as conn:
        for repo in range(1, neighbours + 2):
            await conn.execute(
                text(
                    "INSERT INTO repositories (id, github_id, full_name, owner_login, private, "
                    "default_branch, monitoring_enabled, archived, config, created_at, updated_at) "
                    "VALUES (:i, :i, :name, 'bench', false, 'main', true, false, '{}', "
                    "now(), now())"
                ),
                {"i": repo, "name": f"bench/r{repo}"},
            )
            await conn.execute(
                text(
                    "INSERT INTO entities (id, repository_id, generation, name, species, health, "
                    "status, is_current, frozen, born_at, updated_at, metadata, grace_days, "
                    "decay_per_day) VALUES (:i, :i, 1, 'Mochi', 'pet', 80, 'alive', true, false, "
                    ":born, now(), '{}', 3, 2)"
                ),
                {"i": repo, "born": START},
            )
        raw = await conn.get_raw_connection()
        await copy_history(raw.driver_connection, history, credited, ledger)
        for n in range(neighbours):
            for statement in NEIGHBOURS.split(";"):
                await conn.execute(
                    text(statement),
                    {"base": (n + 1) * 10_000_000, "repo": n + 2, "n": size, "start": START},
                )
        for table in ("commit_analyses", "repositories", "entities"):
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return time.perf_counter() - started, recompute, len(ledger.grants)


class Capture:
    """The statements one read runs (with their parameters), for EXPLAIN."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if self.on and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((statement, params))


def scans(plan: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(node type, relation, index) of every scan in a plan."""
    found = []
    if "Scan" in plan.get("Node Type", ""):
        found.append((plan["Node Type"], plan.get("Relation Name", ""), plan.get("Index Name")))
    for child in plan.get("Plans", []):
        found += scans(child)
    return found


async def explain(engine: Any, capture: Capture) -> tuple[bool, list[str]]:
    """Each captured statement's scans (alike ones counted together); and whether no scan of
    the credits reads the whole table (a bitmap heap scan is driven by an index)."""
    plans: dict[str, list[float]] = {}
    ok = True
    async with engine.connect() as conn:
        for statement, params in capture.statements:
            result = await conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params
            )
            plan = result.scalar()
            top = (json.loads(plan) if isinstance(plan, str) else plan)[0]
            found = scans(top["Plan"])
            ok = ok and not any(r == "analysis_credits" and n == "Seq Scan" for n, r, _ in found)
            alike = Counter(f"{n} on {r}" + (f" using {i}" if i else "") for n, r, i in found)
            shown = ", ".join(f"{k} × {scan}" if k > 1 else scan for scan, k in alike.items())
            plans.setdefault(shown, []).append(top["Execution Time"])
    lines = [f"  {len(t):3d} × {sum(t):7.2f} ms  {shown}" for shown, t in plans.items()]
    return ok, lines


async def timed(engine: Any, runs: int, capture: Capture, now: datetime) -> list[float]:
    """The read model's time per run (the first run is captured for EXPLAIN)."""
    sessions, times = db.make_sessionmaker(engine), []
    for run in range(runs + 1):
        capture.on = run == 0
        async with sessions() as session:
            started = time.perf_counter()
            doc = await caretakers.caretakers(session, 1, 1, {}, 30, now)
            times.append((time.perf_counter() - started) * 1000)
        assert doc.all_time is not None and doc.all_time.commits >= ANALYSES // 2
    capture.on = False
    return times[1:]  # the first run warmed the caches


async def commit_path(engine: Any, runs: int, now: datetime) -> list[float]:
    """Credit and grant one more commit on the big pet (rolled back each time)."""
    sessions, times = db.make_sessionmaker(engine), []
    for run in range(runs):
        async with sessions() as session, session.begin():
            pet = await session.get(Entity, 1)
            assert pet is not None
            row = CommitAnalysis(
                repository_id=1,
                entity_id=1,
                sha=f"{run:x}".rjust(40, "f"),
                message="x\n\nCo-authored-by: Dev 3 <dev3@example.com>",
                author_name="Ada Lovelace",
                author_email="ada@example.com",
                author_login="ada",
                committed_at=now,
                processed_at=now,
                health_delta=4,
                reasons=[],
                detail={},
            )
            session.add(row)
            await session.flush()
            started = time.perf_counter()
            await caretaking.credit_and_grant(session, row, pet, care_context.step_of(row), now)
            times.append((time.perf_counter() - started) * 1000)
            await session.rollback()
    return times


async def measure(count: int, neighbours: int, size: int, runs: int) -> dict[str, Any]:
    name = f"tamagitto_bench_care_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin(f'CREATE DATABASE "{name}"')
    try:
        url = database_url(name)
        await asyncio.to_thread(db.upgrade, url)
        fill_s, recompute_s, grants = await fill(url, count, neighbours, size)
        engine, capture = db.create_engine(url), Capture()
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        now = START + SPAN + timedelta(hours=1)
        times = await timed(engine, runs, capture, now)
        index_used, plan = await explain(engine, capture)
        incremental = await commit_path(engine, max(3, runs // 3), now)
        await engine.dispose()
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    p50 = statistics.median(times)
    return {
        "bench": "caretakers",
        "analyses": count,
        "neighbours": neighbours,
        "neighbour_analyses": size,
        "runs": runs,
        "p50_ms": round(p50, 1),
        "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 1),
        "target_ms": TARGET_MS,
        "ratio": round(TARGET_MS / p50, 2),
        "index_used": index_used,
        "statements": len(capture.statements),
        "commit_path_p50_ms": round(statistics.median(incremental), 1),
        "recompute_s": round(recompute_s, 2),
        "grants": grants,
        "fill_s": round(fill_s, 1),
        "plan": plan,
    }


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller neighbours, 8 runs (< 60 s)")
    parser.add_argument("--analyses", type=int, default=ANALYSES)
    args = parser.parse_args(argv)
    neighbours, runs = (4, 8) if args.quick else (9, 30)
    size = args.analyses // 2 if args.quick else args.analyses
    found = await measure(args.analyses, neighbours, size, runs)
    print(
        f"caretakers of a pet with {found['analyses']:,} analyses ({neighbours} neighbours of "
        f"{size:,}): p50 {found['p50_ms']} ms, p95 {found['p95_ms']} ms over "
        f"{runs} runs (target {TARGET_MS:g} ms), {found['statements']} statements"
    )
    print("query plans (EXPLAIN ANALYZE), scans:")
    print("\n".join(found.pop("plan")))
    print(f"every scan of analysis_credits uses an index: {found['index_used']}")
    print(
        f"commit path (credit + achievements of one more commit): p50 "
        f"{found['commit_path_p50_ms']} ms; full recompute of {found['grants']} grants from the "
        f"analyses in memory: {found['recompute_s']} s; fill {found['fill_s']} s"
    )
    print(json.dumps(found))


if __name__ == "__main__":
    asyncio.run(main())
