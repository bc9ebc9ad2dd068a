"""Annotations: the analysis' line findings as GitHub check-run annotations, costliest first.

Findings come from `app.analysis.findings` (kept in an analysis row's `detail["findings"]`).
Burden, risky calls and secrets are warnings; lint and possible secrets are notices. The
config's `annotations:` caps the total (default 50); `app.jobs.checks` sends them 50 per
request. A pull request's annotations must point at its head: a finding is kept only from the
last commit of the pull request that changed its file, whose lines are the head's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.analysis.findings import WARNINGS

MAX_TITLE = 255
MAX_MESSAGE = 4096


def level(kind: str) -> str:
    """GitHub's annotation level for a finding's kind."""
    return "warning" if kind in WARNINGS else "notice"


def annotation(finding: Mapping[str, Any]) -> dict[str, Any]:
    """One finding as GitHub's annotation object."""
    start = max(1, int(finding.get("line") or 1))
    return {
        "path": str(finding["path"]),
        "start_line": start,
        "end_line": max(start, int(finding.get("end_line") or start)),
        "annotation_level": level(str(finding.get("kind"))),
        "title": str(finding.get("title") or "Tamagitto")[:MAX_TITLE],
        "message": str(finding.get("message") or "")[:MAX_MESSAGE],
    }


def ordered(findings: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Costliest first, then by place; the same finding twice counts once."""
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for finding in findings:
        key = (finding.get("path"), finding.get("line"), finding.get("title"))
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return sorted(
        unique,
        key=lambda f: (-float(f.get("points") or 0), str(f.get("path")), int(f.get("line") or 0)),
    )


def annotations_for(findings: Iterable[Mapping[str, Any]], cap: int) -> list[dict[str, Any]]:
    """The annotations a check run carries: the `cap` costliest findings."""
    return [annotation(finding) for finding in ordered(findings)[: max(0, cap)]]


def stored_findings(detail: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The findings an analysis row kept (none for rows analysed without them)."""
    found = (detail or {}).get("findings")
    return [f for f in found if isinstance(f, Mapping)] if isinstance(found, list) else []


def head_findings(
    commits: Sequence[tuple[frozenset[str], Sequence[Mapping[str, Any]]]],
) -> list[Mapping[str, Any]]:
    """Findings whose lines are the head's: for each file, those of the last commit (of
    `(paths changed, findings)` in order) that changed it."""
    last: dict[str, int] = {}
    for index, (paths, _) in enumerate(commits):
        for path in paths:
            last[path] = index
    return [
        finding
        for index, (_, findings) in enumerate(commits)
        for finding in findings
        if last.get(str(finding.get("path"))) == index
    ]
