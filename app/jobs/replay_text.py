"""`tamagitto replay`'s human report: the timeline of commits, events and achievements, the pet,
its sparkline, the caretakers, and the figures. Built from the `--json` document only, so the
two always say the same thing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.entities.species import SUBSPECIES, emoji_for

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
TOP_REASONS = 2
MESSAGE_WIDTH = 40  # characters of a commit's first line shown in the timeline
TOP_CARETAKERS = 5


def sparkline(values: list[int], width: int = SPARK_WIDTH) -> str:
    """Health over time in block characters (0 → ▁, 100 → █), at most `width` wide."""
    if not values:
        return ""
    if len(values) > width:
        values = [values[i * len(values) // width] for i in range(width - 1)] + [values[-1]]
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round(max(0, min(100, v)) * top / 100)] for v in values)


def _top_reasons(entry: dict[str, Any]) -> str:
    """The most important reasons of a commit, as `code +n`."""
    shown = [r for r in entry["reasons"] if r["points"]][:TOP_REASONS] or entry["reasons"][:1]
    return ", ".join(f"{r['code']} {r['points']:+d}" for r in shown)


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    """`text` in at most `width` characters, so timeline columns stay aligned.

    The cut falls between words when one ends in the second half, and an
    ellipsis shows that something was left out.
    """
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def timeline_line(entry: dict[str, Any]) -> str:
    """`a1b2c3d 2024-05-01   +8 →  92 thriving  Add tests for area   tests_added +8`."""
    day = entry["committed_at"][:10]
    return (
        f"{entry['sha'][:7]} {day} {entry['delta']:+4d} → {entry['health']:3d} "
        f"{entry['state']:<9} {shorten(entry.get('message', '')):<{MESSAGE_WIDTH}}  "
        f"{_top_reasons(entry)}"
    ).rstrip()


def event_line(item: dict[str, Any]) -> str:
    """`      » 2024-05-04        92 hungry    3 days without a commit: hungry`."""
    day, health = item["at"][:10], item["health"]
    return f"{'»':>7} {day} {'':4}   {health:3d} {item['kind']:<9} {item['detail']}"


def achievement_line(item: dict[str, Any]) -> str:
    """`      ★ 2024-05-04  Ada earned First test (a1b2c3d)`."""
    who = item["person"]["name"]
    return f"{'★':>7} {item['at'][:10]}  {who} earned {item['title']} ({item['sha'][:7]})"


def timeline_lines(doc: dict[str, Any]) -> list[str]:
    """Commits, events and achievements in the order they happened to the pet.

    Events come before the commit that followed them, achievements after the commit that
    earned them; a document without them (written before they existed) gives commits only.
    """
    events: list[dict[str, Any]] = doc.get("events", [])
    earned: dict[str, list[dict[str, Any]]] = {}
    for item in doc.get("achievements", []):
        earned.setdefault(item["sha"], []).append(item)
    lines, shown = [], 0
    for entry in doc["commits"]:
        committed = datetime.fromisoformat(entry["committed_at"])
        while shown < len(events) and datetime.fromisoformat(events[shown]["at"]) <= committed:
            lines.append(event_line(events[shown]))
            shown += 1
        lines.append(timeline_line(entry))
        lines.extend(achievement_line(item) for item in earned.get(entry["sha"], []))
    return lines + [event_line(item) for item in events[shown:]]


def caretaker_lines(doc: dict[str, Any]) -> list[str]:
    """`caretakers: Ada +12 −3 (5 commits), Bob +4 −0 (2 commits)`, all time, best first."""
    found = (doc.get("caretakers") or {}).get("all_time") or []
    if not found:
        return []
    shown = [
        f"{c['person']['name']} +{c['added']} −{c['taken_away']} ({c['commits']} commits)"
        for c in found[:TOP_CARETAKERS]
    ]
    more = f", and {len(found) - TOP_CARETAKERS} more" if len(found) > TOP_CARETAKERS else ""
    return [f"caretakers: {', '.join(shown)}{more}"]


def format_timeline(doc: dict[str, Any]) -> str:
    """The human report: one line per commit and event, then the pet, sparkline and figures."""
    pet, stats = doc["pet"], doc["stats"]
    lines = [f"Tamagitto replay of {doc['repository']}: {stats['commits']} commits", ""]
    lines.extend(timeline_lines(doc))
    if not doc["commits"]:
        lines.append("(no commits: the pet has no history yet)")
    kind = species_type_for(pet["species"])
    lines += [
        "",
        f"{emoji_for(kind, pet['species'])} {pet['name']} the {pet['species']}: {pet['state']}, "
        f"health {pet['health']}, {pet['status']}, generation {pet['generation']}",
        f"health {sparkline([entry['health'] for entry in doc['commits']])}",
        *caretaker_lines(doc),
        f"{stats['commits']} commits in {stats['seconds']:.2f} s "
        f"({stats['commits_per_second']:.1f} commits/s)",
    ]
    return "\n".join(lines)


def species_type_for(subspecies: str) -> str:
    """The species type (pet, plant…) a sub-species belongs to, for its emoji."""
    return next((kind for kind, names in SUBSPECIES.items() if subspecies in names), "blob")
