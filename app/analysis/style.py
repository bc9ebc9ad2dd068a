"""Style: the lint problems a commit introduces on the lines it changed.

Python files get ruff on the before and after text, and only findings on
added lines that outnumber the same rule's findings on removed lines count.
Every language gets line checks: over-long lines, trailing whitespace, mixed
indentation, left-in debug prints and new TODO/FIXME markers. Where the file is
parsed, what sits inside a string literal is data, not layout or a call: a tab
in a docstring is not mixed indentation and `"print(x)"` is not a debug print.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.analysis.files import FileView
from app.analysis.lint import Findings
from app.analysis.parsing import STRING_WORDS, ParsedBlob, blob_key
from app.analysis.security import candidate_lines, code_position

LONG_LINE = 120  # characters, tabs counted as 4
TAB_WIDTH = 4
INDENT_SAMPLE_BYTES = 4096  # a file's indentation style shows in its first lines
TODO_MARKER = re.compile(r"\b(?:TODO|FIXME|XXX|HACK)\b")
TAB_INDENTED_LANGUAGES = frozenset({"Go", "Makefile"})
# Python files whose prints are their output, not leftovers: scripts by place or by guard.
SCRIPT_DIRS = frozenset({"scripts", "script", "bin", "tools", "examples", "bench", "benchmarks"})
SCRIPT_NAMES = frozenset({"__main__.py", "setup.py", "noxfile.py", "manage.py"})
_MAIN_GUARD = re.compile(rb"^if\s+__name__\s*==\s*[\"']__main__[\"']", re.MULTILINE)
_PRINT = re.compile(r"(?<![\w.])p?print\s*\(")

# Per language: literal hints (cheap to look for) and the pattern they unlock.
_DEBUG_RULES: dict[str, tuple[tuple[str, ...], str]] = {
    "JavaScript": (("console.", "debugger"),
                   r"\bconsole\.(?:log|debug|trace|dir)\s*\(|^\s*debugger\s*;?\s*$"),
    "Python": (("breakpoint", "set_trace", "pdb", "print"),
               r"\bbreakpoint\s*\(\s*\)|\b(?:i?pdb|pudb)\.set_trace\s*\(|^\s*import\s+i?pdb\b"
               rf"|{_PRINT.pattern}"),
    "Ruby": (("binding.", "byebug"), r"\bbinding\.(?:pry|irb)\b|^\s*byebug\b"),
    "PHP": (("var_dump", "print_r", "dd("), r"\b(?:var_dump|print_r|dd)\s*\("),
    "Rust": (("dbg!",), r"\bdbg!\s*\("),
    "Go": (("println", "spew."), r"(?<![.\w])println\s*\(|\bspew\.Dump\s*\("),
    "Java": (("System.", "printStackTrace"),
             r"\bSystem\.(?:out|err)\.print(?:ln)?\s*\(|\.printStackTrace\s*\(\s*\)"),
    "C#": (("Debugger.",), r"\bDebugger\.Break\s*\("),
    "C": (("__debugbreak",), r"\b__debugbreak\s*\("),
    "C++": (("__debugbreak",), r"\b__debugbreak\s*\("),
    "Swift": (("debugPrint",), r"\bdebugPrint\s*\("),
    "Kotlin": (("printStackTrace",), r"\.printStackTrace\s*\(\s*\)"),
}  # fmt: skip
_DEBUG_RULES["TypeScript"] = _DEBUG_RULES["JavaScript"]
DEBUG_RULES = {
    language: (hints, re.compile(pattern)) for language, (hints, pattern) in _DEBUG_RULES.items()
}


@dataclass(frozen=True)
class StyleMetrics:
    """Problems introduced on changed lines, by kind."""

    ruff: dict[str, int] = field(default_factory=dict)
    long_lines: int = 0
    trailing_whitespace: int = 0
    mixed_indentation: int = 0
    debug_prints: int = 0
    todos: int = 0
    lines_checked: int = 0
    ruff_available: bool = True

    @property
    def total(self) -> int:
        """All problems introduced."""
        line_checks = self.long_lines + self.trailing_whitespace + self.mixed_indentation
        return sum(self.ruff.values()) + line_checks + self.debug_prints + self.todos


# Starts only where a whitespace run starts, and never backtracks: indentation stays linear.
_TRAILING = re.compile(r"(?<![^\S\n])[^\S\n]++$", re.MULTILINE)
_SPACE_BEFORE_TAB = re.compile(r"^[ \t]* \t", re.MULTILINE)
# A space before a tab, or an indent opening with the file's minority character.
_MIXED = {
    " ": re.compile(r"^(?:\t|[ \t]* \t)", re.MULTILINE),
    "\t": re.compile(r"^(?: |\t+ +\t)", re.MULTILINE),
    None: _SPACE_BEFORE_TAB,
}
_TAB_INDENTED = re.compile(rb"^\t+\S", re.MULTILINE)
_SPACE_INDENTED = re.compile(rb"^ +\S", re.MULTILINE)


def dominant_indent(text: bytes) -> str | None:
    """ "\t" or " ", whichever starts more indented lines; None when no line is indented."""
    tabs, spaces = len(_TAB_INDENTED.findall(text)), len(_SPACE_INDENTED.findall(text))
    if not tabs and not spaces:
        return None
    return "\t" if tabs > spaces else " "


def _file_dominant(view: FileView, added_text: str) -> str | None:
    """The file's indentation style, from its full text when present, else its added lines."""
    if view.language in TAB_INDENTED_LANGUAGES:
        return "\t"
    if view.after is not None:
        return dominant_indent(view.after.source[:INDENT_SAMPLE_BYTES])
    return dominant_indent(added_text.encode("utf-8", "replace"))


def _long_lines(lines: Sequence[str], joined: str) -> int:
    """Lines over `LONG_LINE` characters, tabs counted as `TAB_WIDTH` (C-level maps first)."""
    lengths = list(map(len, lines))
    if not lengths or max(lengths) * TAB_WIDTH <= LONG_LINE:
        return 0
    if "\t" not in joined:
        return sum(map(LONG_LINE.__lt__, lengths))
    return sum(len(text.expandtabs(TAB_WIDTH)) > LONG_LINE for text in lines)


def _debug_prints(view: FileView, lines: Sequence[str], joined: str) -> int:
    """Left-in debug statements in non-test code; the hints are looked for once first."""
    language = None if view.is_test else view.language
    rule = DEBUG_RULES.get(language or "")
    if rule is None or not any(hint in joined for hint in rule[0]):
        return 0
    count = 0
    for index, text in enumerate(lines):
        match = rule[1].search(text) if any(hint in text for hint in rule[0]) else None
        if match is not None and _is_leftover(view, view.diff.added[index][0], text, match):
            count += 1
    return count


def _is_leftover(view: FileView, number: int, text: str, match: re.Match[str]) -> bool:
    """A debug match that is a real call: not in a string or comment, not a script's output."""
    start = match.start() + len(match.group()) - len(match.group().lstrip())
    if not code_position(view, number, text, start):
        return False
    if view.language != "Python" or not _PRINT.match(text, start):
        return True
    return not _is_script(view) and not _prints_to_file(view, number, text, start)


def _is_script(view: FileView) -> bool:
    """A Python script, whose prints are what it is for: by place, name or `__main__` guard."""
    path = view.path
    if posixpath.basename(path) in SCRIPT_NAMES:
        return True
    if any(part in SCRIPT_DIRS for part in path.split("/")[:-1]):
        return True
    return view.after is not None and _MAIN_GUARD.search(view.after.source) is not None


def _prints_to_file(view: FileView, number: int, text: str, start: int) -> bool:
    """True for `print(..., file=stream)`: output sent somewhere on purpose."""
    if view.after is None:
        return "file=" in text[start:]
    node = view.after.node_at(number - 1, len(text[:start].encode("utf-8")))
    while node is not None and node.type != "call":
        node = node.parent
    arguments = node.child_by_field_name("arguments") if node is not None else None
    if arguments is None:
        return False
    for argument in arguments.named_children:
        name = argument.child_by_field_name("name")
        if argument.type == "keyword_argument" and name is not None and name.text == b"file":
            return True
    return False


def _mixed_indentation(view: FileView, joined: str) -> int:
    """Added lines indented against the file's style; lines inside a string literal are data."""
    pattern = _MIXED[_file_dominant(view, joined)]
    if view.after is None:
        return len(pattern.findall(joined))
    rows = (view.diff.added[index][0] - 1 for index in candidate_lines(joined, pattern))
    return sum(not view.after.in_literal(row, 0, STRING_WORDS) for row in rows)


def line_problems(view: FileView) -> Counter[str]:
    """Line-check problems on one file's added lines (regexes over the joined text)."""
    joined = "\n".join(raw for _, raw in view.diff.added)
    if "\r" in joined:  # CRLF files: the carriage return is not trailing whitespace
        joined = joined.replace("\r\n", "\n").removesuffix("\r")
    lines = joined.split("\n")
    problems: Counter[str] = Counter()
    problems["long_lines"] = _long_lines(lines, joined)
    problems["trailing_whitespace"] = len(_TRAILING.findall(joined))
    problems["mixed_indentation"] = _mixed_indentation(view, joined)
    problems["debug_prints"] = _debug_prints(view, lines, joined)
    added_todos = _todo_lines(view.diff.added, view.after)
    removed_todos = _todo_lines(view.diff.removed, view.before)
    problems["todos"] = max(0, added_todos - removed_todos)
    return problems


def _todo_lines(lines: Sequence[tuple[int, str]], parsed: ParsedBlob | None) -> int:
    """Lines with a TODO/FIXME marker; in a parsed file, only markers inside comments."""
    if not TODO_MARKER.search("\n".join(text for _, text in lines)):
        return 0
    marked = [number for number, text in lines if TODO_MARKER.search(text)]
    if parsed is None or not marked:
        return len(marked)
    return len(parsed.comment_rows(number - 1 for number in marked))


def _on_lines(findings: Findings, numbers: set[int]) -> Counter[str]:
    """Rule codes of the findings that sit on the given line numbers."""
    return Counter(code for line, code in findings if line in numbers)


def introduced_ruff(view: FileView, findings: dict[str, Findings]) -> Counter[str]:
    """Ruff findings on added lines beyond those the removed lines already had, per rule."""
    after = _findings_for(view.after, view.change.after_blob, findings)
    before = _findings_for(view.before, view.change.before_blob, findings)
    new = _on_lines(after, {number for number, _ in view.diff.added})
    old = _on_lines(before, {number for number, _ in view.diff.removed})
    return Counter({code: count - old[code] for code, count in new.items() if count > old[code]})


def _findings_for(
    parsed: ParsedBlob | None, sha: str | None, findings: dict[str, Findings]
) -> Findings:
    """The ruff findings of one version of a file (empty when it was not linted)."""
    if parsed is None:
        return ()
    return findings.get(blob_key(parsed.source, sha), ())


def python_versions(views: Sequence[FileView]) -> list[tuple[str, bytes, str | None]]:
    """Every parsed Python version of the commit, for one ruff run."""
    versions = []
    for view in views:
        if view.grammar != "python" or not view.is_code:
            continue
        if view.before is not None:
            versions.append((view.path, view.before.source, view.change.before_blob))
        if view.after is not None:
            versions.append((view.path, view.after.source, view.change.after_blob))
    return versions


def measure_style(views: Sequence[FileView], findings: dict[str, Findings] | None) -> StyleMetrics:
    """Problems introduced over a commit's included code files.

    `findings` are ruff's, per blob key (see `python_versions`); None
    means ruff could not run, so only the line checks count.
    """
    code = [view for view in views if view.is_code]
    totals: Counter[str] = Counter()
    ruff: Counter[str] = Counter()
    for view in code:
        totals.update(line_problems(view))
        if findings and view.grammar == "python":
            ruff.update(introduced_ruff(view, findings))
    return StyleMetrics(
        ruff=dict(sorted(ruff.items())),
        long_lines=totals["long_lines"],
        trailing_whitespace=totals["trailing_whitespace"],
        mixed_indentation=totals["mixed_indentation"],
        debug_prints=totals["debug_prints"],
        todos=totals["todos"],
        lines_checked=sum(len(view.diff.added) for view in code),
        ruff_available=findings is not None,
    )
