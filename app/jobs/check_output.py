"""What a check run says, in GitHub's Markdown: a pull request's forecast or a commit's delta.

Titles read like "🐱 Mochi: 72 → 65 if merged (−7)". Summaries show the health before and
after, a table of commits with each one's delta and reasons, the worst functions, a link to
the pet page and how the figure is computed. Conclusions are informational (`success`, or
`neutral` when health goes down) unless the config's `fail_below` is set and the health falls
under it, or a real-looking secret is added: then `failure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.core.models import CommitAnalysis
from app.entities import rules
from app.jobs.repo_config import RepoConfig

if TYPE_CHECKING:  # the forecast imports the pipeline, which reports through this module
    from app.jobs.forecast import CommitForecast, Forecast

MINUS = "−"  # U+2212, as the title format has it
MAX_TABLE_ROWS = 100
MAX_REASONS = 4


def signed(delta: int) -> str:
    """+4, −3, ±0."""
    return f"+{delta}" if delta > 0 else (f"{MINUS}{-delta}" if delta < 0 else "±0")


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return (
        str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
    )


def reasons_text(reasons: Sequence[Mapping[str, Any]]) -> str:
    """`tests added (+2); 3 functions touched (−1)`: the reasons worth points first."""
    shown = [r for r in reasons if int(r.get("points") or 0)] or list(reasons)
    parts = [f"{r.get('detail')} ({signed(int(r.get('points') or 0))})" for r in shown]
    more = f"; {len(parts) - MAX_REASONS} more" if len(parts) > MAX_REASONS else ""
    return cell("; ".join(parts[:MAX_REASONS]) + more) or "no measurable change"


def forecast_title(fc: Forecast) -> str:
    """E.g. "🐱 Mochi: 72 → 65 if merged (−7)"."""
    if fc.dead:
        return f"🪦 {fc.pet_name} has died: merging changes nothing until it is revived"
    return f"{fc.emoji} {fc.pet_name}: {fc.before} → {fc.after} if merged ({signed(fc.delta)})"


def conclusion(delta: int, health: int, secret: bool, config: RepoConfig) -> str:
    """Informational unless `fail_below` catches the health, or a secret was added."""
    if secret or (config.fail_below is not None and health < config.fail_below):
        return "failure"
    return "success" if delta >= 0 else "neutral"


def forecast_conclusion(fc: Forecast, config: RepoConfig) -> str:
    """A dead pet's forecast is informational: nothing can change it."""
    if fc.dead:
        return "neutral"
    return conclusion(fc.delta, fc.after, fc.secret, config)


def _commit_row(index: int, line: CommitForecast, commit_url: str) -> str:
    """One commit of the table."""
    link = f"[`{line.sha[:7]}`]({commit_url}/{line.sha})"
    if line.counted:
        return (
            f"| {index} | {link} {cell(line.title)} | {signed(line.delta)} | 0 | counted already |"
        )
    return (
        f"| {index} | {link} {cell(line.title)} | {signed(line.delta)} | {signed(line.applied)} "
        f"| {reasons_text(line.reasons)} |"
    )


def commits_table(lines: Sequence[CommitForecast], commit_url: str) -> list[str]:
    """The per-commit table (the first `MAX_TABLE_ROWS`, then a count)."""
    rows = ["| | commit | delta | applied | reasons |", "| ---: | --- | ---: | ---: | --- |"]
    rows += [_commit_row(i, line, commit_url) for i, line in enumerate(lines[:MAX_TABLE_ROWS], 1)]
    if len(lines) > MAX_TABLE_ROWS:
        rows.append(f"\n… and {len(lines) - MAX_TABLE_ROWS} more commits, counted in the total.")
    return rows


def _figure(entry: Mapping[str, Any], key: str) -> str:
    """`4 → 9` from a function's before/after metrics (`9` for a new function)."""
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if not before:
        return str(after.get(key, "–"))
    return f"{before.get(key, '–')} → {after.get(key, '–')}"


def worst_table(worst: Sequence[Mapping[str, Any]]) -> list[str]:
    """The functions whose burden grew most."""
    if not worst:
        return ["No function's burden grew."]
    rows = [
        "| function | burden | cyclomatic | nesting | lines |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for entry in worst:
        name = cell(f"{entry.get('path')}:{entry.get('name')}")
        rows.append(
            f"| `{name}` | +{float(entry['burden_delta']):.1f} | {_figure(entry, 'cyclomatic')} "
            f"| {_figure(entry, 'nesting')} | {_figure(entry, 'length')} |"
        )
    return rows


def method_text(fc: Forecast, base_ref: str, config: RepoConfig) -> list[str]:
    """How the forecast is computed, in a few sentences."""
    notes = [
        f"Each commit of this pull request is scored as a push of it to `{cell(base_ref)}` "
        "would score it: analysed with the `.github/tamagitto.yml` at that commit, reverts and "
        "hotspots counted with the pull request's earlier commits as applied, then applied in "
        f"order to {cell(fc.pet_name)}'s health now ({fc.before}, decay owed included) by the "
        "pet's rules: gains shrink above 80, health stays within 0–100. Commits the pet has "
        "counted already apply nothing.",
        "If these commits land unchanged on an unchanged base (GitHub's rebase merge), the "
        "pet's health moves by exactly this much. A squash, or a merge commit, is scored as "
        "one commit (the whole diff), so its delta can differ. Decay meanwhile changes the "
        "starting point, not the commits' deltas.",
        "The pet's health does not change until then.",
    ]
    if fc.review_skipped:
        notes.append("`llm_review` is on: Gemini's review (±3 a commit) is not forecast.")
    if config.fail_below is not None:
        notes.append(
            f"This check fails when the forecast is under `fail_below: {config.fail_below}`."
        )
    return notes


def forecast_summary(
    fc: Forecast, config: RepoConfig, base_ref: str, pet_url: str, commit_url: str
) -> str:
    """The whole summary of a forecast check run."""
    state = rules.health_state(fc.after)
    lines = [
        f"**{cell(fc.pet_name)} would be {state} at {fc.after}/100** if this pull request "
        f"merged now: {signed(fc.delta)} from {fc.before}/100 ({rules.health_state(fc.before)}).",
        "",
    ]
    if fc.secret:
        lines += [
            "**A commit adds what looks like a live secret** (see the annotations). Revoke it: "
            "merged or not, it is in the history now.",
            "",
        ]
    lines += ["### Commits", "", *commits_table(fc.commits, commit_url), ""]
    if fc.truncated:
        lines += ["GitHub lists only the first 250 commits of a pull request; these are they.", ""]
    lines += ["### Worst functions", "", *worst_table(fc.worst), ""]
    lines += ["### How the forecast is computed", "", *method_text(fc, base_ref, config), ""]
    lines.append(f"[{fc.emoji} {cell(fc.pet_name)}'s page]({pet_url})")
    return "\n".join(lines)


def commit_summary(
    row: CommitAnalysis, pet_name: str, health: int, config: RepoConfig, pet_url: str
) -> str:
    """The summary of a pushed commit's check run: its actual delta and why."""
    reasons = list(row.reasons or [])
    lines = [
        f"**{cell(pet_name)} is {rules.health_state(health)} at {health}/100** after this "
        f"commit ({signed(row.health_delta)}).",
        "",
        "| reason | points |",
        "| --- | ---: |",
        *(f"| {cell(r.get('detail'))} | {signed(int(r.get('points') or 0))} |" for r in reasons),
        "",
    ]
    functions = ((row.detail or {}).get("complexity") or {}).get("functions") or []
    grew = [f for f in functions if float(f.get("burden_delta") or 0) > 0]
    lines += ["### Worst functions", "", *worst_table(grew[:5]), ""]
    if config.errors:
        lines += [
            "`.github/tamagitto.yml` is invalid, so the defaults apply: "
            + cell("; ".join(config.errors)),
            "",
        ]
    lines += [
        "Each commit is scored once, when it reaches a monitored branch, and its delta is "
        "applied to the pet in commit order; gains shrink above 80.",
        "",
        f"[{cell(pet_name)}'s page]({pet_url})",
    ]
    return "\n".join(lines)
