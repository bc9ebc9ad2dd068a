"""The fake GitHub's check runs, pull request commits and issue comments, as GitHub does them.

Plugged into `FakeGitHub` (its `checks` attribute); every request has passed the fake's
OpenAPI check before it gets here. What GitHub enforces beyond the description is enforced
too: `checks: write` for check runs (403 "Resource not accessible by integration"),
`conclusion` with `status: completed` (422), annotations appended by each PATCH, and write
access for comments. An installation without a `permissions` entry has granted everything.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

FORBIDDEN = "Resource not accessible by integration"


def final_statuses(statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statuses other than the `pending` ones posted while a commit is being analysed."""
    return [status for status in statuses if status.get("state") != "pending"]


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"message": message, "documentation_url": "https://docs.github.com/rest"}, status=status
    )


@dataclass
class ChecksFake:
    """Check runs, pull requests' commits and comments of the fake."""

    fake: FakeGitHub
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    stamps: list[tuple[float, str, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(7000)
        self._register()

    # ---- set-up and inspection -------------------------------------------------------------

    def add_pull(self, full_name: str, number: int, shas: list[str]) -> None:
        """A pull request of the repository whose commits (oldest first) are `shas`."""
        self.pulls[(full_name, number)] = list(shas)

    def runs_on(self, sha: str) -> list[dict[str, Any]]:
        """Check runs created on a commit, oldest first."""
        return [run for run in self.runs.values() if run["head_sha"] == sha]

    def in_progress(self) -> list[dict[str, Any]]:
        """Runs nobody completed."""
        return [run for run in self.runs.values() if run["status"] != "completed"]

    # ---- permissions -------------------------------------------------------------------------

    def _granted(self, full_name: str, permission: str) -> bool:
        """Did the repository's installation grant `permission: write`?"""
        inst = self.fake._repo_installation(full_name)
        granted = (self.fake.installations.get(inst) or {}).get("permissions")
        return granted is None or granted.get(permission) == "write"

    def _denied(
        self, request: web.Request, full_name: str, *permissions: str
    ) -> web.Response | None:
        denied = self.fake._check_token(request, self.fake._repo_installation(full_name))
        if denied is not None:
            return denied
        if not any(self._granted(full_name, p) for p in permissions):
            return _error(403, FORBIDDEN)
        return None

    # ---- routes --------------------------------------------------------------------------------

    def _register(self) -> None:
        route = self.fake._route
        route("POST", "/repos/{owner}/{repo}/check-runs")(self._create_run)
        route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")(self._update_run)
        route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")(self._pull_commits)
        route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")(self._comment)
        route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")(self._edit)

    def _apply(self, run: dict[str, Any], body: dict[str, Any]) -> web.Response | None:
        """One create or update: GitHub's rules for status, conclusion and annotations."""
        if body.get("status") == "completed" and not body.get("conclusion"):
            return _error(422, "Validation Failed: conclusion is required when completed")
        for key in ("name", "status", "conclusion", "details_url", "started_at", "completed_at"):
            if key in body:
                run[key] = body[key]
        if body.get("conclusion"):
            run["status"] = "completed"
        output = body.get("output") or {}
        run["output"].update({k: v for k, v in output.items() if k != "annotations"})
        run["annotations"].extend(output.get("annotations") or [])
        run["requests"] += 1
        self.stamps.append((time.perf_counter(), run["status"], run["id"], run["head_sha"]))
        return None

    async def _create_run(self, request: web.Request, p: dict[str, str], body: Any) -> web.Response:
        full = f"{p['owner']}/{p['repo']}"
        if (denied := self._denied(request, full, "checks")) is not None:
            return denied
        run_id = next(self._ids)
        run: dict[str, Any] = {
            "id": run_id, "repo": full, "head_sha": body["head_sha"], "name": body["name"],
            "status": "queued", "conclusion": None, "output": {}, "annotations": [],
            "requests": 0, "created_at": datetime.now(UTC).isoformat(),
        }  # fmt: skip
        if (refused := self._apply(run, body)) is not None:
            return refused
        self.runs[run_id] = run
        return web.json_response(self._public(run), status=201)

    async def _update_run(self, request: web.Request, p: dict[str, str], body: Any) -> web.Response:
        full = f"{p['owner']}/{p['repo']}"
        if (denied := self._denied(request, full, "checks")) is not None:
            return denied
        run = self.runs.get(int(p["check_run_id"]))
        if run is None or run["repo"] != full:
            return _error(404, "Not Found")
        if (refused := self._apply(run, body)) is not None:
            return refused
        return web.json_response(self._public(run))

    def _public(self, run: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": run["id"],
            "head_sha": run["head_sha"],
            "name": run["name"],
            "status": run["status"],
            "conclusion": run["conclusion"],
            "url": f"{self.fake.url}/repos/{run['repo']}/check-runs/{run['id']}",
            "output": {**run["output"], "annotations_count": len(run["annotations"])},
        }

    async def _pull_commits(
        self, request: web.Request, p: dict[str, str], body: Any
    ) -> web.Response:
        full = f"{p['owner']}/{p['repo']}"
        denied = self.fake._check_token(request, self.fake._repo_installation(full))
        if denied is not None:
            return denied
        shas = self.pulls.get((full, int(p["pull_number"])))
        if shas is None:
            return _error(404, "Not Found")
        per_page = int(request.query.get("per_page", "30"))
        page = int(request.query.get("page", "1"))
        chosen = shas[:250][(page - 1) * per_page : page * per_page]
        commits = self.fake.commits.get(full, {})
        items = [
            {k: v for k, v in commits[s].items() if k not in ("files", "stats")} for s in chosen
        ]
        return web.json_response(items)

    async def _comment(self, request: web.Request, p: dict[str, str], body: Any) -> web.Response:
        full = f"{p['owner']}/{p['repo']}"
        if (denied := self._denied(request, full, "pull_requests", "issues")) is not None:
            return denied
        if (full, int(p["issue_number"])) not in self.pulls:
            return _error(404, "Not Found")
        comment_id = next(self._ids)
        self.comments[comment_id] = {
            "id": comment_id, "repo": full, "number": int(p["issue_number"]),
            "body": body["body"], "edits": 0,
        }  # fmt: skip
        return web.json_response(self.comments[comment_id], status=201)

    async def _edit(self, request: web.Request, p: dict[str, str], body: Any) -> web.Response:
        full = f"{p['owner']}/{p['repo']}"
        if (denied := self._denied(request, full, "pull_requests", "issues")) is not None:
            return denied
        comment = self.comments.get(int(p["comment_id"]))
        if comment is None or comment["repo"] != full:
            return _error(404, "Not Found")
        comment["body"] = body["body"]
        comment["edits"] += 1
        return web.json_response(comment)
