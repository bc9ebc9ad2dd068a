"""Per-repository settings from `.github/tamagitto.yml`: parsed, validated, cached by blob sha.

An invalid file never breaks analysis: the defaults stay in force and the problems are kept so
the commit status and the pet page can say why. Where the file comes from (the repository, the
owner's `.github` repository, `_extends` bases) is `app.jobs.config_files`' business.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import yaml
from gidgethub.abc import GitHubAPI

from app.core.text import visible
from app.core.vocabulary import SPECIES
from app.entities.rules import DECAY_PER_DAY, GRACE_DAYS, MAX_DECAY_PER_DAY, MAX_GRACE_DAYS
from app.infra.github import LRUCache
from app.jobs.config_files import CONFIG_PATH, Document, read_config
from app.jobs.notify_config import check_caretakers, check_notify

__all__ = ["CONFIG_PATH", "RepoConfig", "load_config", "parse_config"]

DEFAULT_CONTEXT = "tamagitto"
MAX_NAME = 50
MAX_GLOBS = 100
REPORTS = ("checks", "status", "both")  # unset: checks when the installation granted them
COMMENTS = ("off", "on_change")
DEFAULT_ANNOTATIONS = 50
MAX_ANNOTATIONS = 500

_parsed = LRUCache(maxsize=1024)


@dataclass(frozen=True)
class RepoConfig:
    """The effective settings, plus what was wrong with the file (if anything)."""

    name: str | None = None
    species: str | None = None
    branches: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_below: int | None = None
    context: str = DEFAULT_CONTEXT
    llm_review: bool = False
    grace_days: int = GRACE_DAYS
    decay_per_day: int = DECAY_PER_DAY  # 0 is `decay: off`
    report: str | None = None  # None: checks if the installation granted `checks: write`
    comment: str = "off"
    annotations: int = DEFAULT_ANNOTATIONS
    caretakers: bool = True  # `caretakers: off` hides them everywhere
    notify_targets: tuple[str, ...] = ()  # `slack:NAME`, `discord:NAME` (app/jobs/notify_config.py)
    notify_states: bool = True
    notify_digest: bool = True
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        """False when the file had errors (the defaults are then in force)."""
        return not self.errors

    def monitors(self, branch: str, default_branch: str) -> bool:
        """Is `branch` analysed? The configured branches (globs allowed), else the default."""
        patterns = self.branches or (default_branch,)
        return any(fnmatch.fnmatchcase(branch, p) for p in patterns)

    def as_dict(self) -> dict[str, Any]:
        """For storing on the repository row and showing on the pet page."""
        return {
            "name": self.name,
            "species": self.species,
            "branches": list(self.branches),
            "ignore": list(self.ignore),
            "fail_below": self.fail_below,
            "context": self.context,
            "llm_review": self.llm_review,
            "grace_days": self.grace_days,
            "decay_per_day": self.decay_per_day,
            "report": self.report,
            "comment": self.comment,
            "annotations": self.annotations,
            "caretakers": self.caretakers,
            "notify_targets": list(self.notify_targets),
            "notify_states": self.notify_states,
            "notify_digest": self.notify_digest,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepoConfig:
        """The config `as_dict` gave, back (a commit waiting to be applied keeps its own)."""
        lists = ("branches", "ignore", "errors", "warnings", "notify_targets")
        known: dict[str, Any] = {
            k: tuple(v) if k in lists else v
            for k, v in data.items()
            if k in cls.__dataclass_fields__
        }
        return cls(**known)


def _string_list(key: str, value: Any, errors: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.append(f"`{key}` must be a list of strings")
        return ()
    if len(value) > MAX_GLOBS:
        errors.append(f"`{key}` has more than {MAX_GLOBS} entries")
        return ()
    return tuple(value)


def _check_name(value: Any, errors: list[str]) -> str | None:
    """The pet's name, without bidi controls or zero-width characters (as the rename API)."""
    if isinstance(value, str):
        value = visible(value).strip()
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
        errors.append(f"`name` must be a string of 1 to {MAX_NAME} visible characters")
        return None
    return value


def _check_species(value: Any, errors: list[str]) -> str | None:
    if value not in SPECIES:
        errors.append(f"`species` must be one of {', '.join(SPECIES)}")
        return None
    return str(value)


def _check_fail_below(value: Any, errors: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        errors.append("`fail_below` must be a whole number from 0 to 100")
        return None
    return value


def _check_context(value: Any, errors: list[str]) -> str:
    """The status context GitHub shows beside the check, cleaned like a pet name."""
    if isinstance(value, str):
        value = visible(value)
    if not isinstance(value, str) or not 0 < len(value.strip()) <= 100:
        errors.append("`context` must be a string of 1 to 100 visible characters")
        return DEFAULT_CONTEXT
    return value


def _check_bool(value: Any, errors: list[str]) -> bool:
    if not isinstance(value, bool):
        errors.append("`llm_review` must be true or false")
        return False
    return value


DECAY_ERROR = (
    f"`decay` must be `off` or a mapping with `grace_days` (1 to {MAX_GRACE_DAYS}) "
    f"and `per_day` (0 to {MAX_DECAY_PER_DAY}), both whole numbers"
)


def _whole(value: Any, low: int, high: int) -> bool:
    """A whole number (not a bool, which YAML gives for `yes`) inside [low, high]."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_decay(value: Any, errors: list[str]) -> tuple[int, int]:
    """(grace_days, per_day): `off` (YAML may read it as false) is a rate of 0.

    Either key may be left out and keeps the seed's value; anything else is one error.
    """
    if value is False or value == "off":
        return GRACE_DAYS, 0
    if not isinstance(value, dict) or set(value) - {"grace_days", "per_day"}:
        errors.append(DECAY_ERROR)
        return GRACE_DAYS, DECAY_PER_DAY
    grace = value.get("grace_days", GRACE_DAYS)
    per_day = value.get("per_day", DECAY_PER_DAY)
    if not (_whole(grace, 1, MAX_GRACE_DAYS) and _whole(per_day, 0, MAX_DECAY_PER_DAY)):
        errors.append(DECAY_ERROR)
        return GRACE_DAYS, DECAY_PER_DAY
    return grace, per_day


def _check_report(value: Any, errors: list[str]) -> str | None:
    """Where push results go: check runs, commit statuses, or both."""
    if value not in REPORTS:
        errors.append(f"`report` must be one of {', '.join(REPORTS)}")
        return None
    return str(value)


def _check_comment(value: Any, errors: list[str]) -> str:
    """`off` (YAML may read it as false) or `on_change`."""
    if value is False:
        return "off"
    if value not in COMMENTS:
        errors.append(f"`comment` must be one of {', '.join(COMMENTS)}")
        return "off"
    return str(value)


def _check_annotations(value: Any, errors: list[str]) -> int:
    """How many annotations a check run may carry in all; `off` (or false) is none."""
    if value is False or value == "off":
        return 0
    if not _whole(value, 0, MAX_ANNOTATIONS):
        errors.append(f"`annotations` must be `off` or a whole number from 0 to {MAX_ANNOTATIONS}")
        return DEFAULT_ANNOTATIONS
    return int(value)


CHECKS = {
    "name": _check_name,
    "species": _check_species,
    "fail_below": _check_fail_below,
    "context": _check_context,
    "llm_review": _check_bool,
    "report": _check_report,
    "comment": _check_comment,
    "annotations": _check_annotations,
}

# Every key the file may hold (the docs page lists exactly these). `_extends` is not one:
# `app.jobs.config_files` resolves it before the keys are checked.
KEYS = (*CHECKS, "branches", "ignore", "decay", "caretakers", "notify")


def parse_config(text: str | bytes) -> RepoConfig:
    """Validate the YAML; any error means every default applies, with the errors listed."""
    try:
        doc = yaml.safe_load(text) if text else {}
    except yaml.YAMLError as exc:
        return RepoConfig(errors=(f"not valid YAML: {str(exc).splitlines()[0]}",))
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        return RepoConfig(errors=("the file must be a mapping of keys to values",))
    return check_document(doc)


def check_document(doc: dict[str, Any], problems: tuple[str, ...] = ()) -> RepoConfig:
    """Validate a mapping of keys (a file, or a file merged over its `_extends` bases).

    `problems` are errors found on the way (a base that could not be read): they count like
    the keys' own, so the defaults apply rather than half of what was meant.
    """
    errors: list[str] = list(problems)
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key in CHECKS:
            values[key] = CHECKS[key](value, errors)
        elif key in ("branches", "ignore"):
            values[key] = _string_list(key, value, errors)
        elif key == "decay":
            values["grace_days"], values["decay_per_day"] = _check_decay(value, errors)
        elif key == "caretakers":
            values["caretakers"] = check_caretakers(value, errors)
        elif key == "notify":
            notify = check_notify(value, errors)
            values["notify_targets"], values["notify_states"], values["notify_digest"] = notify
    unknown = tuple(f"unknown key `{k}`" for k in doc if k not in KEYS)
    if errors:
        return RepoConfig(errors=tuple(errors), warnings=unknown)
    return RepoConfig(**values, warnings=unknown)


def _from_document(document: Document) -> RepoConfig:
    """The config of a resolved document, parsed once per set of blobs."""
    if document.error is not None:
        return RepoConfig(errors=(document.error,))
    try:
        config: RepoConfig = _parsed[document.key]
        return config
    except KeyError:
        pass
    config = check_document(document.values, document.problems)
    _parsed[document.key] = config
    return config


async def load_config(gh: GitHubAPI, full_name: str, ref: str) -> RepoConfig:
    """The config at `ref`: the repository's file, else the owner's `.github` repository's,
    with `_extends` bases merged under it; none anywhere is the defaults."""
    document = await read_config(gh, full_name, ref)
    if document is None:
        return RepoConfig()
    return _from_document(document)
