"""Which language a path is written in, and which tree-sitter grammar reads it.

Names follow GitHub's (linguist) spelling, so the pet's species table can use
either a repository's GitHub language or the one measured here.
"""

from __future__ import annotations

import posixpath
from functools import lru_cache

# Display name for every programming language we recognise, by extension.
LANGUAGE_BY_EXTENSION: dict[str, str] = {
    ".py": "Python", ".pyi": "Python", ".pyw": "Python",
    ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript", ".jsx": "JavaScript",
    ".ts": "TypeScript", ".mts": "TypeScript", ".cts": "TypeScript", ".tsx": "TypeScript",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".cs": "C#",
    ".c": "C", ".h": "C",
    ".cc": "C++", ".cpp": "C++", ".cxx": "C++", ".c++": "C++",
    ".hh": "C++", ".hpp": "C++", ".hxx": "C++", ".h++": "C++", ".ipp": "C++",
    ".rb": "Ruby", ".rake": "Ruby", ".gemspec": "Ruby",
    ".php": "PHP",
    ".kt": "Kotlin", ".kts": "Kotlin",
    ".swift": "Swift",
    ".sh": "Shell", ".bash": "Shell", ".zsh": "Shell",
    ".lua": "Lua", ".pl": "Perl", ".pm": "Perl", ".r": "R",
    ".scala": "Scala", ".dart": "Dart", ".ex": "Elixir", ".exs": "Elixir",
    ".erl": "Erlang", ".hs": "Haskell", ".clj": "Clojure", ".sql": "SQL",
    ".m": "Objective-C", ".mm": "Objective-C++", ".vue": "Vue", ".svelte": "Svelte",
    ".cshtml": "HTML", ".html": "HTML", ".css": "CSS", ".scss": "SCSS",
}  # fmt: skip

LANGUAGE_BY_FILENAME: dict[str, str] = {
    "Rakefile": "Ruby", "Gemfile": "Ruby", "Makefile": "Makefile",
    "Dockerfile": "Dockerfile", "CMakeLists.txt": "CMake",
}  # fmt: skip

# Grammar key (see `grammars.GRAMMARS`) by extension; everything else gets line checks only.
GRAMMAR_BY_EXTENSION: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java", ".cs": "c_sharp",
    ".c": "c", ".h": "cpp",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp",
    ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp", ".h++": "cpp", ".ipp": "cpp",
    ".rb": "ruby", ".rake": "ruby", ".gemspec": "ruby",
    ".php": "php", ".kt": "kotlin", ".kts": "kotlin", ".swift": "swift",
}  # fmt: skip

# Languages whose lines are not code for the documentation and test ratios.
MARKUP_LANGUAGES = frozenset({"HTML", "CSS", "SCSS"})
PATH_CACHE_SIZE = 65_536  # paths repeat across commits; classify each once

_HASH = ("#",)
_SLASH = ("//", "/*", "*", "*/")
# How a whole-line comment starts, for files read line by line (no grammar or no content).
LINE_COMMENT_PREFIXES: dict[str, tuple[str, ...]] = {
    "Python": _HASH, "Ruby": _HASH, "Shell": _HASH, "Perl": _HASH, "R": _HASH,
    "Elixir": _HASH, "Makefile": _HASH, "Dockerfile": _HASH, "CMake": _HASH,
    "PHP": (*_SLASH, "#"), "Lua": ("--",), "SQL": ("--",), "Haskell": ("--", "{-"),
    "Erlang": ("%",), "Clojure": (";",), "HTML": ("<!--",), "CSS": ("/*", "*"),
}  # fmt: skip


def _extension(path: str) -> str:
    """The lower-cased extension of the file name."""
    return posixpath.splitext(path)[1].lower()


@lru_cache(maxsize=PATH_CACHE_SIZE)
def language_of(path: str) -> str | None:
    """The programming language of a path, or None for data, docs and unknown files."""
    name = posixpath.basename(path)
    return LANGUAGE_BY_FILENAME.get(name) or LANGUAGE_BY_EXTENSION.get(_extension(path))


@lru_cache(maxsize=PATH_CACHE_SIZE)
def grammar_of(path: str) -> str | None:
    """The tree-sitter grammar key for a path, or None when no grammar reads it."""
    return GRAMMAR_BY_EXTENSION.get(_extension(path))


def comment_prefixes(language: str | None) -> tuple[str, ...]:
    """Line-comment openers for a language; C-style for every language not listed."""
    if language is None:
        return ()
    return LINE_COMMENT_PREFIXES.get(language, _SLASH)


def is_code_language(language: str | None) -> bool:
    """True for languages whose added lines count as code in the ratios."""
    return language is not None and language not in MARKUP_LANGUAGES
