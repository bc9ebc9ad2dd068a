"""Who a commit credits: its author and its `Co-authored-by:` co-authors, sharing its delta.

A person is their GitHub login when the commit is linked to an account (GitHub's commit API
says so, or the email is a `users.noreply.github.com` address, which names the login), else
their name and a hash of their email: the hash tells people apart without publishing
addresses. The commit's scored delta is split into whole points, the remainder going to the
first people (the author first), so the shares always add up to the delta and the pet's
caretakers account for every point it got.

Pure functions: the pipeline, the backfill and `tamagitto replay` all credit the same way.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

AUTHOR: Final = "author"
CO_AUTHOR: Final = "co-author"
EMAIL_HASH_HEX: Final = 16
MAX_NAME: Final = 255
MAX_PEOPLE: Final = 20  # a commit crediting more is a list, not a team (the rest share nothing)
UNKNOWN_NAME: Final = "unknown author"

_TRAILER = re.compile(
    r"^[ \t]*co-authored-by:[ \t]*(?P<name>[^<\n]*?)[ \t]*<(?P<email>[^<>\s]*)>[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_NOREPLY = re.compile(
    r"^(?:\d+\+)?(?P<login>[a-z\d](?:[a-z\d-]{0,38}))(?P<bot>\[bot\])?@users\.noreply\.github\.com$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Person:
    """A caretaker: `key` is stable (`gh:login`, `email:hash` or `name:hash`), the rest shows."""

    key: str
    name: str
    login: str | None = None
    email_hash: str | None = None

    @property
    def bot(self) -> bool:
        """GitHub Apps commit as `name[bot]`; they are credited, and clients may label them."""
        return bool(self.login and self.login.endswith("[bot]"))


@dataclass(frozen=True, slots=True)
class Credit:
    """One person's share of one commit."""

    person: Person
    role: str
    points: int


def email_hash(email: str) -> str:
    """A short SHA-256 of the lower-cased address: stable across commits, never the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:EMAIL_HASH_HEX]


def noreply_login(email: str) -> str | None:
    """The login a GitHub no-reply address names (`123+octocat@users.noreply.github.com`)."""
    found = _NOREPLY.match(email.strip())
    if found is None:
        return None
    return found.group("login") + (found.group("bot") or "")


@functools.lru_cache(maxsize=4096)
def person(name: str | None, email: str | None, login: str | None = None) -> Person:
    """The person behind a name, an email and maybe a login (login first, then email, name).

    Cached: a history names the same few people again and again, and hashing is the cost."""
    name = (name or "").strip()[:MAX_NAME]
    email = (email or "").strip()
    login = (login or "").strip() or noreply_login(email)
    hashed = email_hash(email) if email else None
    if login:
        return Person(f"gh:{login.lower()}", name or login, login, hashed)
    if hashed:
        return Person(f"email:{hashed}", name or UNKNOWN_NAME, None, hashed)
    if name:
        return Person(f"name:{email_hash(name)}", name)
    return Person("unknown", UNKNOWN_NAME)


def co_authors(message: str) -> list[tuple[str, str]]:
    """(name, email) of each `Co-authored-by: Name <email>` trailer, in order."""
    return [(m.group("name"), m.group("email")) for m in _TRAILER.finditer(message or "")]


def people(
    author_name: str | None,
    author_email: str | None,
    author_login: str | None,
    message: str,
) -> list[tuple[Person, str]]:
    """The author, then each co-author once (the author naming themselves counts once)."""
    found = [(person(author_name, author_email, author_login), AUTHOR)]
    seen = {found[0][0].key}
    for name, email in co_authors(message):
        co = person(name, email)
        if co.key not in seen and co.key != "unknown" and len(found) < MAX_PEOPLE:
            seen.add(co.key)
            found.append((co, CO_AUTHOR))
    return found


def split(delta: int, count: int) -> list[int]:
    """`delta` in `count` whole shares that add up to it; the first shares take the remainder.

    `split(5, 2) == [3, 2]`, `split(-5, 2) == [-3, -2]`: the author carries the odd point,
    for better and for worse.
    """
    if count <= 0:
        return []
    sign = -1 if delta < 0 else 1
    base, rest = divmod(abs(delta), count)
    return [sign * (base + (1 if i < rest else 0)) for i in range(count)]


def credits(
    author_name: str | None,
    author_email: str | None,
    author_login: str | None,
    message: str,
    delta: int,
) -> list[Credit]:
    """Everyone a commit credits, with their share of its delta."""
    found = people(author_name, author_email, author_login, message)
    shares = split(delta, len(found))
    return [Credit(who, role, points) for (who, role), points in zip(found, shares, strict=True)]


def aliases(found: Iterable[Person]) -> dict[str, Person]:
    """Email hash → the linked person who used that address (for `resolve`)."""
    return {p.email_hash: p for p in found if p.login and p.email_hash is not None}


def resolve(found: list[Credit], known: Mapping[str, Person]) -> list[Credit]:
    """Credits with each unlinked person replaced by the linked one who used the same email.

    GitHub links a commit to its author's account, but not its `Co-authored-by:` trailers: a
    co-author whose address an earlier linked commit used is that account, not a second
    person. People who end up the same are merged, their points summed, the first role kept.
    """
    merged: dict[str, Credit] = {}
    for item in found:
        who = item.person
        if who.login is None and who.email_hash is not None and who.email_hash in known:
            who = known[who.email_hash]
        if who.key in merged:
            first = merged[who.key]
            merged[who.key] = Credit(first.person, first.role, first.points + item.points)
        else:
            merged[who.key] = Credit(who, item.role, item.points)
    return list(merged.values())


__all__ = [
    "AUTHOR",
    "CO_AUTHOR",
    "Credit",
    "Person",
    "aliases",
    "co_authors",
    "credits",
    "email_hash",
    "noreply_login",
    "people",
    "person",
    "resolve",
    "split",
]
