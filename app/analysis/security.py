"""Security: committed secrets, risky calls added, and dependency manifest changes.

Each file's added lines are checked once for hints (a literal piece of a token
format, a secret-like name, a risky word) before any line is examined. Lines
that may hold a secret go to app/analysis/secret_rules.py, which decides, and
whose findings never carry the value; lines that may hold a risky call go to
the rules below.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate

from app.analysis.diff import parse_patch
from app.analysis.files import FileView
from app.analysis.paths import exclusion_reason
from app.analysis.secret_rules import (
    ENTROPY_KIND,
    FORMAT_HINT,
    LONG_QUOTED,
    NAME_WORDS,
    SecretFinding,
    format_hint,
    secrets_in_line,
)

MAX_EXCLUDED_SCAN = 200_000  # excluded files' patches beyond this (bundles) are not scanned
_SQL = r"(?:SELECT\s.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b"
_SQL_CONCATENATION = re.compile(
    rf"(?i)[\"'`]\s*{_SQL}[^\"'`]*[\"'`]\s*(?:\+|%\s*[\w(]|\.format\s*\()"
    rf"|\bf[\"']{_SQL}[^\"']*\{{"
    rf"|`\s*{_SQL}[^`]*\$\{{"
)

# (kind, lower-case words one of which the line must hold, pattern)
RISKY_RULES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    ("eval", ("eval",), re.compile(r"(?<![\w.$])eval\s*\(")),
    ("exec", ("exec",), re.compile(r"(?<![\w.$])exec\s*\(")),
    ("shell_true", ("shell",), re.compile(r"\bshell\s*=\s*True\b")),
    ("os_system", ("system",), re.compile(r"\bos\.system\s*\(")),
    ("pickle_loads", ("pickle", "dill", "marshal"),
     re.compile(r"\b(?:c?[pP]ickle|dill|marshal)\.loads?\s*\(")),
    ("yaml_load", ("yaml",), re.compile(r"\byaml\.load\s*\((?![^)]*Loader)")),
    ("inner_html", ("html",),
     re.compile(r"\.(?:inner|outer)HTML\s*\+?=(?!=)|dangerouslySetInnerHTML")),
    ("document_write", ("document",), re.compile(r"\bdocument\.write(?:ln)?\s*\(")),
    ("sql_concatenation", ("select", "insert", "update", "delete"), _SQL_CONCATENATION),
    ("unserialize", ("unserialize",), re.compile(r"(?<![\w.>])unserialize\s*\(")),
)  # fmt: skip
# Every risky rule needs one of these words; most lines have none and skip the rules.
_RISKY_WORDS = tuple(word for _, words, _ in RISKY_RULES for word in words)
TEXT_RULES = frozenset({"sql_concatenation"})  # risky by what a string holds


@dataclass(frozen=True)
class RiskyCall:
    """A risky construct added on a line."""

    kind: str
    path: str
    line: int


@dataclass(frozen=True)
class SecurityMetrics:
    """The security side of a commit."""

    secrets: list[SecretFinding] = field(default_factory=list)  # real-looking: they poison
    risky_calls: list[RiskyCall] = field(default_factory=list)
    manifests_changed: list[str] = field(default_factory=list)
    lockfiles_changed: list[str] = field(default_factory=list)
    # Keys in tests, docs, placeholders, publishable keys: reported, never poisoning.
    possible_secrets: list[SecretFinding] = field(default_factory=list)

    @property
    def issues(self) -> int:
        """Real-looking secrets plus risky calls (possible secrets are not issues)."""
        return len(self.secrets) + len(self.risky_calls)

    def risky_by_kind(self) -> dict[str, int]:
        """How many risky calls of each kind."""
        return dict(sorted(Counter(call.kind for call in self.risky_calls).items()))


@lru_cache(maxsize=256)
def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    """A regex matching any of the words."""
    return re.compile("|".join(map(re.escape, words)))


def word_lines(joined: str, words: tuple[str, ...]) -> list[int]:
    """Lines of `joined` holding one of the words, case-insensitively.

    Plain substring tests first (fast in C); the regex runs only over the words
    that occur at all, and often not at all.
    """
    lowered = joined.lower()
    present = tuple(word for word in words if word in lowered)
    return candidate_lines(lowered, _alternation(present)) if present else []


def candidate_lines(joined: str, pattern: re.Pattern[str]) -> list[int]:
    """Indexes of the lines of `joined` on which `pattern` matches, found in one pass."""
    positions = [match.start() for match in pattern.finditer(joined)]
    if not positions:
        return []
    lengths = map((1).__add__, map(len, joined.split("\n")))
    starts = list(accumulate(lengths, initial=0))
    return sorted({bisect.bisect_right(starts, position) - 1 for position in positions})


def code_position(view: FileView, number: int, text: str, start: int) -> bool:
    """True unless the parsed file shows a match sits in a string or comment.

    `start` is a character index into added line `number`; tree-sitter counts bytes.
    """
    if view.after is None:
        return True
    column = len(text[:start].encode("utf-8"))
    return not view.after.in_literal(number - 1, column)


def _risky_in_line(view: FileView, number: int, text: str) -> list[RiskyCall]:
    """Risky constructs on one added line; outside SQL, strings and comments do not count."""
    calls: list[RiskyCall] = []
    lowered = text.lower()
    for kind, words, pattern in RISKY_RULES:
        if not any(word in lowered for word in words):
            continue
        match = pattern.search(text)
        if match is None:
            continue
        if kind in TEXT_RULES or code_position(view, number, text, match.start()):
            calls.append(RiskyCall(kind, view.path, number))
    return calls


def _next_line(added: Sequence[tuple[int, str]], index: int) -> str:
    """The added line right after `index` when it is the next line of the file."""
    if index + 1 < len(added) and added[index + 1][0] == added[index][0] + 1:
        return added[index + 1][1]
    return ""


def _added_lines(view: FileView) -> tuple[tuple[int, str], ...]:
    """Added lines; an excluded file's patch is parsed only when a token format shows.

    Huge excluded patches (bundles, generated code) are skipped: a key in them
    comes from a source file, where it is caught.
    """
    if view.excluded is None:
        return view.diff.added
    patch = view.change.patch
    if not patch or len(patch) > MAX_EXCLUDED_SCAN or not format_hint(patch):
        return ()
    return parse_patch(patch).added


def _file_secrets(view: FileView) -> list[SecretFinding]:
    """Secrets, real and possible, on one file's added lines; excluded files only in
    documented formats."""
    added = _added_lines(view)
    joined = "\n".join(text for _, text in added)
    lines = set(candidate_lines(joined, FORMAT_HINT)) if format_hint(joined) else set()
    if view.excluded is None and LONG_QUOTED.search(joined):
        lines.update(word_lines(joined, NAME_WORDS))
    found: list[SecretFinding] = []
    for index in sorted(lines):
        number, text = added[index]
        found.extend(secrets_in_line(view.path, number, text, _next_line(added, index)))
    return [f for f in found if view.excluded is None or f.kind != ENTROPY_KIND]


def _file_risky(view: FileView) -> list[RiskyCall]:
    """Risky calls on one source file's added lines (only lines holding a hint word)."""
    if not view.is_source:
        return []
    added = view.diff.added
    joined = "\n".join(text for _, text in added)
    return [
        call
        for index in word_lines(joined, _RISKY_WORDS)
        for call in _risky_in_line(view, *added[index])
    ]


def measure_security(views: Sequence[FileView]) -> SecurityMetrics:
    """Secrets on every file's added lines; risky calls in non-test code.

    Real-looking secrets and possible ones (see `path_context` and
    `placeholder`) are kept apart: only the first poison the pet.
    Vendored and generated files are scanned for documented token formats too
    (a key in `dist/` still leaks), but not with the entropy heuristic. Each
    file's added text is checked once for hints before any line is examined.
    """
    found: list[SecretFinding] = []
    risky: list[RiskyCall] = []
    for view in views:
        found.extend(_file_secrets(view))
        risky.extend(_file_risky(view))
    manifests = [view.path for view in views if view.is_manifest]
    locks = [view.path for view in views if exclusion_reason(view.path) == "lock"]
    secrets = [finding for finding in found if not finding.possible]
    possible = [finding for finding in found if finding.possible]
    return SecurityMetrics(secrets, risky, manifests, locks, possible)
