"""What a repository's past adds to a commit in production: reverts and hotspots (issue 13).

The same rules as `tamagitto replay`, read from the database where commits are applied
in order: a revert gives back the reverted commit's delta, and a commit that adds source
to files earlier fixes touched pays for it.
"""

from __future__ import annotations

from sqlalchemy import select

from app.core.models import CommitAnalysis, FileFix
from app.infra.runtime import RUNTIME
from tests.pipeline.conftest import Pipeline

BASE = "b" * 40


def module(name: str, lines: int) -> bytes:
    body = "".join(f"    total += {i}\n" for i in range(lines))
    return f"def {name}(total):\n{body}    return total\n".encode()


async def rows(p: Pipeline) -> dict[str, CommitAnalysis]:
    async with p.client.app[RUNTIME].sessionmaker() as session:
        found = (await session.scalars(select(CommitAnalysis))).all()
    return {row.sha: row for row in found}


async def push(p: Pipeline, shas: list[str], before: str) -> None:
    assert await p.deliver("push", p.push(shas, before)) == 202
    await p.work()


async def test_a_revert_gives_back_the_reverted_commits_delta(pipeline: Pipeline) -> None:
    p = pipeline
    feature, revert, undo = "1" * 40, "2" * 40, "3" * 40
    start = module("f", 3)
    grown = start + b"\n\n" + module("g", 200)
    p.add_commit(feature, BASE, {"lib.py": (start, grown)}, "big feature")
    p.add_commit(revert, feature, {"lib.py": (grown, start)},
                 f'Revert "big feature"\n\nThis reverts commit {feature}.')  # fmt: skip
    p.add_commit(undo, revert, {"lib.py": (start, grown)}, "bring it back")
    await push(p, [feature, revert, undo], BASE)
    found = await rows(p)
    assert found[feature].health_delta != 0
    assert found[revert].health_delta == -found[feature].health_delta
    assert [r["code"] for r in found[revert].reasons] == ["revert"]
    # no message: the exact inverse of the revert is a revert of it too
    assert found[undo].health_delta == -found[revert].health_delta
    assert "reverts 2222222" in found[undo].reasons[0]["detail"]


async def test_files_fixed_before_cost_the_next_commit_that_changes_them(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    shas, parent = [], BASE
    for n in range(6):
        sha = f"{n + 1:040x}"
        p.add_commit(sha, parent, {"core.py": (module("f", 3 + n), module("f", 4 + n))},
                     f"Fix crash {n}")  # fmt: skip
        shas.append(sha)
        parent = sha
    hot, calm = "a" * 40, "c" * 40
    p.add_commit(hot, parent, {"core.py": (module("f", 9), module("f", 30))}, "grow core")
    p.add_commit(calm, hot, {"calm.py": (module("g", 9), module("g", 30))}, "grow calm")
    await push(p, [*shas, hot, calm], BASE)
    found = await rows(p)
    reasons = {r["code"]: r for r in found[hot].reasons}
    assert "hotspot" in reasons and "core.py, 6" in reasons["hotspot"]["detail"]
    assert "hotspot" not in {r["code"] for r in found[calm].reasons}
    assert "hotspot" not in {r["code"] for r in found[shas[0]].reasons}  # no fix before it
    assert sum(r["points"] for r in found[hot].reasons) == found[hot].health_delta
    async with p.client.app[RUNTIME].sessionmaker() as session:
        counts = {f.path: f.fixes for f in (await session.scalars(select(FileFix))).all()}
    assert counts == {"core.py": 6}
