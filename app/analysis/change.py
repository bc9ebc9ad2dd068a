"""The change's own complexity: how much source it adds, and how widely it is spread.

Just-in-time defect prediction finds that the size of a change and its spread
across files predict faults better than any property of the code it leaves
behind (Kamei et al., TSE 2013), and Hassan (ICSE 2009) showed that the entropy
of a change over the files it touches, its "complexity of code changes", does
too. `bench/validity.py` confirms both on real histories. Only included source
files count: tests, documentation, vendored, generated and lock files do not.
"""

from __future__ import annotations

import hashlib
import math
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from app.analysis.files import FileView


@dataclass(frozen=True)
class ChangeMetrics:
    """Size and spread of a commit's source changes."""

    source_files: int = 0
    directories: int = 0
    lines_added: int = 0
    lines_removed: int = 0
    entropy: float = 0.0
    paths: tuple[str, ...] = ()  # the source files changed, sorted (hotspots are counted on them)
    signature: str = ""  # digest of the line changes, whatever their line numbers ("" if none)
    inverse: str = ""  # the signature of the exact inverse change: what a revert of it has

    @property
    def adds_source(self) -> bool:
        """True when the commit adds at least one source line (it can introduce a bug)."""
        return self.lines_added > 0


def change_entropy(changed: Sequence[int]) -> float:
    """Shannon entropy (bits) of the changed lines over files: 0 for one file, log2(n) at most."""
    total = sum(changed)
    if total <= 0:
        return 0.0
    shares = (count / total for count in changed if count > 0)
    return max(0.0, -sum(share * math.log2(share) for share in shares))  # never −0.0


def _non_blank(lines: Sequence[tuple[int, str]]) -> int:
    """How many of the lines hold more than whitespace."""
    return sum(1 for _, text in lines if text.strip())


SIGNATURE_HEX = 16


def _digest(parts: Sequence[tuple[str, list[str], list[str]]]) -> str:
    """A short, stable digest of (path, added lines, removed lines) triples."""
    hasher = hashlib.blake2b(digest_size=SIGNATURE_HEX // 2)
    for path, added, removed in sorted(parts):
        hasher.update(path.encode() + b"\0")
        for sign, lines in ((b"+", added), (b"-", removed)):
            for text in lines:
                hasher.update(sign + text.encode("utf-8", "replace") + b"\n")
    return hasher.hexdigest()


def diff_signatures(views: Sequence[FileView]) -> tuple[str, str]:
    """Digests of a commit's line changes and of their exact inverse (a revert's).

    Lines are compared as sets per file, so a revert whose hunks moved still matches;
    a commit with no line change has no signature.
    """
    forward = [
        (view.path, sorted(t for _, t in view.diff.added), sorted(t for _, t in view.diff.removed))
        for view in views
        if view.diff.added or view.diff.removed
    ]
    if not forward:
        return "", ""
    return _digest(forward), _digest([(path, rem, add) for path, add, rem in forward])


def measure_change(views: Sequence[FileView]) -> ChangeMetrics:
    """Size and spread over the included source files (non-blank lines, as the tests family)."""
    sources = [view for view in views if view.is_source]
    added = [_non_blank(view.diff.added) for view in sources]
    removed = [_non_blank(view.diff.removed) for view in sources]
    changed = [a + r for a, r in zip(added, removed, strict=True)]
    touched = [view for view, count in zip(sources, changed, strict=True) if count > 0]
    signature, inverse = diff_signatures(views)
    return ChangeMetrics(
        source_files=len(touched),
        directories=len({posixpath.dirname(view.path) for view in touched}),
        lines_added=sum(added),
        lines_removed=sum(removed),
        entropy=round(change_entropy(changed), 3),
        paths=tuple(sorted(view.path for view in touched)),
        signature=signature,
        inverse=inverse,
    )
