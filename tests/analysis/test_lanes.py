"""Replay on several processes: the same document as one, every commit once, failures surface."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import pytest

from app.analysis import lanes
from app.analysis.gitlocal import LocalGitSource
from app.jobs.replay import replay
from tests.analysis.helpers import GitRepo
from tests.analysis.test_security import CASES

COMMITS = 26  # enough for the front lane and a worker to take several claims each


def _module(index: int) -> str:
    """A Python module that grows a little more complex with every commit."""
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(index % 7 + 1))
    return f'"""Module {index}."""\n\n\ndef pick(x):\n{branches}\n    return None\n'


def _history(path: Path) -> GitRepo:
    """A repository whose commits touch the same files again and again, as real ones do."""
    repo = GitRepo(path)
    for index in range(COMMITS):
        files: dict[str, str | bytes | None] = {
            "core.py": _module(index),
            f"pkg/m{index % 4}.py": _module(index + 3),
        }
        if index % 5 == 1:
            files[f"tests/test_m{index}.py"] = f"def test_{index}():\n    assert {index}\n"
        if index % 6 == 2:
            files["web/app.js"] = f"export function f{index}(a) {{ if (a) {{ return 1; }} }}\n"
        if index == 9:
            files["settings.py"] = CASES[0][1] + "\n"
        repo.commit(f"change {index}", files, days=index % 3)
    return repo


def _without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key != "stats"}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _history(tmp_path_factory.mktemp("lanes") / "repo").path


@pytest.mark.parametrize("method", ["fork", "spawn"])
async def test_several_processes_give_the_same_document_as_one(
    history: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = multiprocessing.get_context(method)
    monkeypatch.setattr(lanes, "_context", lambda: context)
    one = await replay(history, jobs=1)
    seen: list[tuple[int, int]] = []
    three = await replay(history, jobs=3, progress=lambda done, total: seen.append((done, total)))
    assert len(one["commits"]) == COMMITS
    assert _without_timing(three) == _without_timing(one)
    assert seen[-1] == (COMMITS, COMMITS) and seen.count((COMMITS, COMMITS)) == 1
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert CASES[0][2] not in str(three)


async def test_a_failing_worker_fails_the_replay_and_leaves_no_process(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lanes, "_context", lambda: multiprocessing.get_context("fork"))
    real = lanes.analyze_commit
    last = (await replay(history, jobs=1))["commits"][-1]["sha"]

    def broken(commit: Any, **kwargs: Any) -> Any:
        if commit.info.sha == last:  # the newest commit: a worker's first claim
            raise RuntimeError("analysis broke")
        return real(commit, **kwargs)

    monkeypatch.setattr(lanes, "analyze_commit", broken)
    with pytest.raises(RuntimeError, match="analysis broke"):
        await replay(history, jobs=2)
    assert multiprocessing.active_children() == []


def test_claims_hand_out_every_commit_once_shrinking_at_the_meeting_point() -> None:
    claims = lanes.Claims(100, 2, multiprocessing.get_context("fork"))
    taken: list[tuple[int, int]] = []
    while True:
        claim = claims.front() if len(taken) % 3 else claims.back()
        if claim is None:
            break
        taken.append(claim)
    covered = sorted(index for start, end in taken for index in range(start, end))
    assert covered == list(range(100))
    sizes = [end - start for start, end in taken]
    assert max(sizes) <= lanes.LINT_AHEAD and sizes[0] == lanes.LINT_AHEAD
    assert sizes[-1] <= lanes.MIN_CLAIM
    assert claims.front() is None and claims.back() is None


def test_fork_only_when_no_other_thread_runs() -> None:
    def method(context: BaseContext) -> str:
        return str(context.get_start_method())

    assert method(lanes._context()) == ("fork" if threading.active_count() == 1 else "spawn")
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="busy")
    other.start()
    try:
        assert method(lanes._context()) == "spawn"
    finally:
        release.set()
        other.join()


async def test_a_short_history_starts_no_worker(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: object) -> None:
        raise AssertionError("a worker was started for a short history")

    monkeypatch.setattr(lanes, "start_pool", no_pool)
    doc = await replay(history, jobs=4, limit=lanes.MIN_CLAIM * 2)
    assert len(doc["commits"]) == lanes.MIN_CLAIM * 2


async def test_a_lane_that_fails_leaves_no_load_running(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next claim's load is under way when analysis fails: it must be stopped, not orphaned."""

    def broken(commit: Any, **kwargs: Any) -> Any:
        raise RuntimeError("analysis broke")

    monkeypatch.setattr(lanes, "analyze_commit", broken)
    claims = iter([(0, 4), (4, 8)])
    async with LocalGitSource(history) as source:
        shas = await source.list_first_parent()
        with pytest.raises(RuntimeError, match="analysis broke"):
            await lanes.lane(source, shas, lambda: next(claims, None), lambda n: None)
        assert asyncio.all_tasks() == {asyncio.current_task()}
