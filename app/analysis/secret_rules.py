"""What a committed secret looks like: documented token formats, secret-named assignments,
and the marks of a key that is not live.

A secret's value never leaves this module: a finding keeps the token kind, the
documented (public) prefix and the length, nothing else.

A key found where keys are not live is only a *possible* secret, with the reason
in its `context`: under tests, fixtures or test data, in documentation and
examples, a well-known or made-up placeholder, or a key that is public by design
(Stripe publishable keys, Algolia search-only keys, browser keys for Google Maps
or Firebase). The real ones poison the pet; the possible ones never do.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from app.analysis.paths import DOC_DIRS, is_doc_path
from app.analysis.testing import is_test_path

ENTROPY_THRESHOLD = 3.5  # bits per character; random base62 strings sit above 4
ENTROPY_MAX_LINE = 400  # an assignment of a secret is a short line; minified code is not
ENTROPY_MIN_LENGTH = 24  # real keys are longer; shorter random strings are mostly ids
# Marks of a made-up value; in a random key body each is a one-in-millions chance.
PLACEHOLDER_MARKERS = ("xxxx", "XXXX", "****", "<", ">", "0000000000")
PLACEHOLDER_WORDS = re.compile(
    r"(?i)fake|dummy|example|sample|test|changeme|change_me|placeholder|redacted|your|replace"
)
# A reference to a value kept elsewhere (templates, interpolation): no value at all.
REFERENCE_MARKERS = ("${", "{{", "%(", "$(", "#{")
# A key body below this share of its length's top entropy (log2 of its length), and at
# most 3 bits per character, was typed by a person: none of 100,000 random AWS, GitHub
# or Stripe bodies falls under it.
PLACEHOLDER_ENTROPY_SHARE = 0.6
PLACEHOLDER_ENTROPY_MAX = 3.0
SEQUENTIAL_SHARE = 0.5  # "abcdef…", "123456…": this share of steps going up by one
PEM_BODY = re.compile(r"^(?:\\n)?[A-Za-z0-9+/=]{40,}|^Proc-Type:")
PRIVATE_KEY_KIND = "private_key"
ENTROPY_KIND = "high_entropy_string"
PATH_CONTEXT_CACHE = 65_536  # paths repeat across commits; classify each once

# Why a finding is only a possible secret (`SecretFinding.context`).
CONTEXT_TEST = "test"  # under tests, fixtures, test data, mocks; or a test key by its name
CONTEXT_DOCS = "docs"  # documentation, READMEs, examples
CONTEXT_PLACEHOLDER = "placeholder"  # a documented example or a made-up, low-entropy value
CONTEXT_PUBLISHABLE = "publishable"  # public by design: shipped to browsers, search-only
# Directories of test data beyond is_test_path's: fixtures/, testdata/, __mocks__/, e2e/…
TEST_DATA_DIR = re.compile(
    r"(?i)^_*(?:[a-z0-9]+[_-])*(?:tests?|specs?|fixtures?|testdata|mocks?|e2e)(?:[_-][a-z0-9]+)*_*$"
)
EXAMPLE_DIRS = frozenset({"examples", "example", "samples", "sample"})
# A key file named as a test or sample key (test-ca.key, snakeoil.pem), wherever it sits.
TEST_KEY_NAME = re.compile(r"(?i)(?:^|[^a-z])(?:test|fake|dummy|example|sample|snakeoil|insecure)")
# A line naming the key as public: publishable keys, search-only keys, browser keys
# (Google Maps, Firebase web config, captcha site keys); unless it also says secret.
PUBLIC_NAME = re.compile(
    r"(?i)publishable|search[_-]?only|algolia\w*search|search\w*algolia|docsearch"
    r"|maps|firebase|site[_-]?key"
)
SECRET_NAME = re.compile(r"(?i)secret|passw|private|admin")
PUBLISHABLE_VALUES = ("pk_live_", "pk_test_", "pk.eyJ")  # Stripe publishable, Mapbox public


@dataclass(frozen=True)
class SecretRule:
    """A documented token format: a kind, its public prefix and a pattern for the whole token."""

    kind: str
    prefix: str
    pattern: re.Pattern[str]  # its group "body" is the random part, when there is one
    literals: tuple[str, ...] = ()  # one of these is in every token; checked before the regex
    publishable: bool = False  # public by design: never more than a possible secret
    browser_use: bool = False  # the same format serves public browser keys (named so)


SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule("github_token", "gh*_", re.compile(r"\bgh[pousr]_(?P<body>[A-Za-z0-9]{36})\b"),
               ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    SecretRule("github_fine_grained_token", "github_pat_",
               re.compile(r"\bgithub_pat_(?P<body>[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b"),
               ("github_pat_",)),
    SecretRule("aws_access_key_id", "AKIA",
               re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)(?P<body>[A-Z0-9]{16})\b"),
               ("AKIA", "ASIA", "ABIA", "ACCA")),
    SecretRule("aws_secret_access_key", "aws_secret_access_key",
               re.compile(r"(?i)aws_?secret_?access_?key\W{0,4}[:=]\W{0,3}"
                          r"(?P<body>[A-Za-z0-9/+=]{40})\b"),
               ("ecret", "ECRET")),
    SecretRule("google_api_key", "AIza", re.compile(r"\bAIza(?P<body>[0-9A-Za-z_\-]{35})"),
               ("AIza",), browser_use=True),
    SecretRule("google_oauth_secret", "GOCSPX-",
               re.compile(r"\bGOCSPX-(?P<body>[A-Za-z0-9_\-]{28})"), ("GOCSPX-",)),
    SecretRule("slack_token", "xox*-", re.compile(r"\bxox[abposr]-(?P<body>[0-9A-Za-z\-]{10,})"),
               ("xox",)),
    SecretRule("slack_webhook", "https://hooks.slack.com/services/",
               re.compile(r"https://hooks\.slack\.com/services/"
                          r"(?P<body>T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+)"),
               ("hooks.slack.com",)),
    SecretRule("stripe_key", "sk_live_",
               re.compile(r"\b[rs]k_(?:live|test)_(?P<body>[0-9a-zA-Z]{24,})\b"),
               ("k_live_", "k_test_")),
    SecretRule("stripe_publishable_key", "pk_live_",
               re.compile(r"\bpk_(?:live|test)_(?P<body>[0-9a-zA-Z]{24,})\b"),
               ("pk_live_", "pk_test_"), publishable=True),
    SecretRule(PRIVATE_KEY_KIND, "-----BEGIN PRIVATE KEY-----",
               re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----"), ("PRIVATE KEY",)),
)  # fmt: skip
_SECRET_NAME = r"(?:secret|token|passwd|password|pwd|api_?key|access_?key|private_?key|credential)"
# Starts at the keyword (no leading wildcard), so a long line cannot make it backtrack.
_ASSIGNMENT = re.compile(
    rf"(?i){_SECRET_NAME}[\w.\-]*[\"']?\s*(?::=|=>|[:=])\s*"
    rf"[\"'](?P<value>[^\"'\s]{{{ENTROPY_MIN_LENGTH},}})[\"']"
)
# Cheap pre-checks: a line without any of these cannot hold a secret we look for.
# Literal pieces of every documented format: substring tests (fast in C) decide
# whether a text can hold a token at all; the regex then finds the lines.
FORMAT_LITERALS = tuple(literal for rule in SECRET_RULES for literal in rule.literals)
FORMAT_HINT = re.compile("|".join(map(re.escape, FORMAT_LITERALS)))
# Substring tests on the lower-cased text are much cheaper than case-insensitive regexes.
NAME_WORDS = ("secret", "token", "passw", "pwd", "apikey", "api_key", "accesskey",
               "access_key", "privatekey", "private_key", "credential")  # fmt: skip
# A value long enough for the entropy heuristic, in quotes: without one, no line needs it.
LONG_QUOTED = re.compile(rf"[\"'][^\"'\s]{{{ENTROPY_MIN_LENGTH},}}[\"']")


@dataclass(frozen=True)
class SecretFinding:
    """A committed secret, already redacted: kind, where, and a safe description.

    `context` is None for a real-looking secret; for a possible one it says why
    the key is probably not live (one of the `CONTEXT_*` values).
    """

    kind: str
    path: str
    line: int
    redacted: str
    context: str | None = None

    @property
    def possible(self) -> bool:
        """True when the key is probably not a live secret."""
        return self.context is not None


def format_hint(text: str) -> bool:
    """True when the text holds a literal piece of some documented token format."""
    return any(literal in text for literal in FORMAT_LITERALS)


def _has_word(text: str, words: tuple[str, ...]) -> bool:
    """True when the lower-cased text contains one of the words."""
    lowered = text.lower()
    return any(word in lowered for word in words)


def redact(prefix: str, value: str) -> str:
    """A description that names the token's public prefix and length, never its characters."""
    return f"{prefix}… ({len(value)} characters, redacted)"


def shannon_entropy(value: str) -> float:
    """Bits per character of a string."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _reference(value: str) -> bool:
    """A value kept elsewhere: a template or interpolation, a URL or a file path."""
    if any(marker in value for marker in REFERENCE_MARKERS):
        return True
    return "://" in value or value.count("/") > 2


def _sequential(body: str) -> bool:
    """Mostly runs like "abcdef" or "123456": typed by a person, not drawn at random."""
    steps = [ord(b) - ord(a) == 1 for a, b in pairwise(body)]
    return bool(steps) and sum(steps) >= SEQUENTIAL_SHARE * len(steps)


def placeholder(body: str, *, entropy: bool = True) -> bool:
    """A made-up key body: a placeholder word or marker, one repeated character, a run.

    `entropy` off (PEM bodies, whose ASN.1 headers repeat) keeps the marks only.
    """
    if not body:
        return False
    if any(marker in body for marker in PLACEHOLDER_MARKERS) or PLACEHOLDER_WORDS.search(body):
        return True
    if len(set(body)) <= 2:
        return True
    floor = min(PLACEHOLDER_ENTROPY_MAX, PLACEHOLDER_ENTROPY_SHARE * math.log2(len(body)))
    return entropy and (shannon_entropy(body) < floor or _sequential(body))


def _looks_random(value: str) -> bool:
    """High entropy, letters and digits mixed."""
    mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
    return mixed and shannon_entropy(value) >= ENTROPY_THRESHOLD


@lru_cache(maxsize=PATH_CONTEXT_CACHE)
def path_context(path: str, kind: str = "") -> str | None:
    """Why keys at this path are probably not live: tests and test data, docs and examples."""
    directories = path.split("/")[:-1]
    if is_test_path(path) or any(TEST_DATA_DIR.match(part) for part in directories):
        return CONTEXT_TEST
    if is_doc_path(path) or any(part.lower() in DOC_DIRS | EXAMPLE_DIRS for part in directories):
        return CONTEXT_DOCS
    if kind == PRIVATE_KEY_KIND and TEST_KEY_NAME.search(posixpath.basename(path)):
        return CONTEXT_TEST
    return None


def _named_public(text: str) -> bool:
    """The line names its key as public by design, and nowhere as a secret."""
    return PUBLIC_NAME.search(text) is not None and SECRET_NAME.search(text) is None


def _documented(rule: SecretRule, text: str, following: str) -> list[tuple[str, str]]:
    """Whole tokens of one documented format on a line, each with its random part.

    A private key header needs a key body (on its line or the next), which is its random part.
    """
    tokens: list[tuple[str, str]] = []
    if not any(literal in text for literal in rule.literals):
        return tokens
    for match in rule.pattern.finditer(text):
        body = match.groupdict().get("body") or ""
        if rule.kind == PRIVATE_KEY_KIND:
            rest = text[match.end() :].strip() or following.strip()
            pem = PEM_BODY.match(rest)
            if not pem:
                continue
            body = pem.group(0).removeprefix("\\n")
        tokens.append((match.group(0), body))
    return tokens


def _token_context(rule: SecretRule, path: str, text: str, body: str) -> str | None:
    """Why a documented-format token is only a possible secret, or None for a real one."""
    if rule.publishable:
        return CONTEXT_PUBLISHABLE
    if placeholder(body, entropy=rule.kind != PRIVATE_KEY_KIND):
        return CONTEXT_PLACEHOLDER
    if rule.browser_use and _named_public(text):
        return CONTEXT_PUBLISHABLE
    return path_context(path, rule.kind)


def _assignment(path: str, number: int, text: str, value: str) -> SecretFinding | None:
    """A secret-named assignment of a quoted value: a secret when random, possible when not.

    A made-up value counts as a possible secret only when it is shaped like a key
    (a digit or a placeholder marker in it), so that names and labels stay silent.
    """
    if _reference(value):
        return None
    context: str | None
    if PLACEHOLDER_WORDS.search(value) or any(m in value for m in PLACEHOLDER_MARKERS):
        shaped = any(c.isdigit() for c in value) or any(m in value for m in PLACEHOLDER_MARKERS)
        if not shaped:
            return None
        context = CONTEXT_PLACEHOLDER
    elif not _looks_random(value):
        return None
    elif value.startswith(PUBLISHABLE_VALUES) or _named_public(text):
        context = CONTEXT_PUBLISHABLE
    else:
        context = path_context(path, ENTROPY_KIND)
    return SecretFinding(ENTROPY_KIND, path, number, redact("", value), context)


def secrets_in_line(path: str, number: int, text: str, following: str = "") -> list[SecretFinding]:
    """Secrets on one added line, real and possible: documented formats first, then
    random-looking assignments to secret-named variables.

    `following` is the next added line, where a private key's body starts. Each
    finding's `context` tells a possible secret (see `path_context`).
    """
    found = []
    if FORMAT_HINT.search(text):
        found = [
            SecretFinding(rule.kind, path, number, redact(rule.prefix, token),
                          _token_context(rule, path, text, body))
            for rule in SECRET_RULES
            for token, body in _documented(rule, text, following)
        ]  # fmt: skip
    if found or len(text) > ENTROPY_MAX_LINE or not LONG_QUOTED.search(text):
        return found
    if not _has_word(text, NAME_WORDS):
        return found
    matches = (
        _assignment(path, number, text, m.group("value")) for m in _ASSIGNMENT.finditer(text)
    )
    return [finding for finding in matches if finding is not None]
