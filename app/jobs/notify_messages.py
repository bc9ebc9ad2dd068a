"""What notifications say, and how Slack and Discord want it: pure functions over plain data.

A history row is a state change worth a message when it crosses a line people care about:
out of healthy (into okay or worse), into dying, back out of dying, death, and revival (a new
generation). Messages name the pet, its repository and what caused the change, and link to the
pet page. Names and commit messages are the repository's text, so they are escaped for each
service, and Discord is told to ping nobody whatever the text holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from app.entities import rules

OKAY: Final = "okay"  # dropped out of healthy (to okay, or poor)
DYING: Final = "dying"
RECOVERED: Final = "recovered"
DEATH: Final = "death"
REVIVAL: Final = "revival"
DIGEST: Final = "digest"
STATE_KINDS: Final = (OKAY, DYING, RECOVERED, DEATH, REVIVAL)
# A pending message of these kinds is dropped when a newer state of the same pet is due first.
SUPERSEDABLE: Final = frozenset({OKAY, DYING, RECOVERED})
MAX_TEXT: Final = 1900  # Discord's content takes 2000 characters
ICONS: Final = {OKAY: "⚠️", DYING: "🚨", RECOVERED: "💚", DEATH: "💀", REVIVAL: "🐣", DIGEST: "📅"}


def kind_of(health: int, delta: int, reason: str) -> str | None:
    """The state change a history row is, if it is one worth a message."""
    if reason == rules.REASON_DEATH:
        return DEATH
    if reason == rules.REASON_REVIVAL:
        return REVIVAL
    before = health - delta
    if health < rules.POOR_AT <= before:
        return DYING
    if before < rules.POOR_AT <= health:
        return RECOVERED
    if health < rules.HEALTHY_AT <= before:
        return OKAY
    return None


@dataclass(frozen=True, slots=True)
class Change:
    """A state change, with what the message needs to say about it."""

    kind: str
    pet: str
    repository: str
    health: int
    generation: int
    cause: str | None = None  # "a1b2c3d by Ada: complexity added", or "daily decay"


def headline(change: Change) -> str:
    """The first line: what happened to whom."""
    who = f"{change.pet} ({change.repository})"
    state = rules.health_state(change.health)
    return {
        OKAY: f"{who} dropped to {state}: {change.health}/100",
        DYING: f"{who} is in critical condition: {change.health}/100",
        RECOVERED: f"{who} is recovering: {change.health}/100",
        DEATH: f"{who} has died. A new pet can hatch after the "
        f"{rules.COOLDOWN.days * 24}-hour cooldown.",
        REVIVAL: f"{who} has hatched (generation {change.generation})",
    }[change.kind]


def state_payload(change: Change, url: str) -> dict[str, Any]:
    """The outbox payload of a state change: title, lines, link."""
    lines = [f"After {change.cause}."] if change.cause else []
    return {"kind": change.kind, "title": headline(change), "lines": lines, "url": url}


def digest_payload(
    pet: str,
    repository: str,
    health: tuple[int, int],
    caretakers: list[tuple[str, int, int]] | None,
    earned: list[tuple[str, str, str]] | None,
    url: str,
) -> dict[str, Any]:
    """The weekly digest: health a week ago and now, top caretakers (name, net, commits) and
    achievements (name, title, sha); both None when `caretakers: off` hides them."""
    then, now = health
    trend = "▲" if now > then else "▼" if now < then else "="
    lines = [f"Health {now}/100 ({trend} {now - then:+d} this week, from {then})."]
    if caretakers is not None:
        top = ", ".join(f"{name} {net:+d} ({commits} commits)" for name, net, commits in caretakers)
        lines.append(f"Top caretakers: {top}." if top else "No commits this week.")
    if earned:
        lines.append(
            "Achievements: " + ", ".join(f"{n} earned {t} ({s[:7]})" for n, t, s in earned)
        )
    title = f"Weekly digest for {pet} ({repository})"
    return {"kind": DIGEST, "title": title, "lines": lines, "url": url}


def slack_escape(text: str) -> str:
    """Slack's three control characters (its docs: escape &, < and >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(payload: dict[str, Any], escape: Any, link: str) -> str:
    icon = ICONS.get(str(payload.get("kind")), "")
    body = [f"{icon} {escape(str(payload.get('title', '')))}".strip()]
    body += [escape(str(line)) for line in payload.get("lines") or []]
    if payload.get("url"):
        body.append(link)
    return "\n".join(body)[:MAX_TEXT]


def render(service: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON body an incoming webhook of `service` takes."""
    url = str(payload.get("url") or "")
    if service == "slack":
        return {"text": _text(payload, slack_escape, f"<{url}|See the pet>")}
    return {
        "content": _text(payload, lambda s: s.replace("@", "@\u200b"), url),
        "allowed_mentions": {"parse": []},
    }


__all__ = [
    "DEATH",
    "DIGEST",
    "DYING",
    "OKAY",
    "RECOVERED",
    "REVIVAL",
    "STATE_KINDS",
    "SUPERSEDABLE",
    "Change",
    "digest_payload",
    "headline",
    "kind_of",
    "render",
    "slack_escape",
    "state_payload",
]
