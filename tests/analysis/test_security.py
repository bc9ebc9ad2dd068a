"""Secrets in documented formats (fake values built at run time), risky calls, manifests."""

from __future__ import annotations

import json
import logging
import random
import re
import string

import pytest

from app.analysis.engine import analyze_commit
from app.analysis.secret_rules import (
    CONTEXT_DOCS,
    CONTEXT_PLACEHOLDER,
    CONTEXT_PUBLISHABLE,
    CONTEXT_TEST,
    SecretFinding,
    path_context,
    secrets_in_line,
    shannon_entropy,
)
from app.analysis.security import candidate_lines, measure_security, word_lines
from tests.analysis.helpers import change, commit_of
from tests.analysis.secret_corpus import NONE, POSSIBLE, SECRET, corpus, pem

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def fake(alphabet: str, length: int, seed: int) -> str:
    """A random-looking, made-up value (never a real credential)."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


# (kind, line to commit, the secret part that must never be shown)
def _cases() -> list[tuple[str, str, str]]:
    github = "ghp_" + fake(ALNUM, 36, 1)
    pat = "github_pat_" + fake(ALNUM, 22, 2) + "_" + fake(ALNUM, 59, 3)
    aws_id = "AKIA" + fake(UPPER, 16, 4)
    aws_secret = fake(ALNUM + "/+", 40, 5)
    google = "AIza" + fake(ALNUM + "-_", 35, 6)
    slack = "xoxb-" + fake(string.digits, 12, 7) + "-" + fake(ALNUM, 24, 8)
    stripe = "sk_live_" + fake(ALNUM, 24, 9)
    oauth = "GOCSPX-" + fake(ALNUM + "-_", 28, 12)
    hook_path = "T" + fake(UPPER, 9, 13) + "/B" + fake(UPPER, 9, 14) + "/" + fake(ALNUM, 24, 15)
    webhook = "https://hooks.slack.com/services/" + hook_path
    entropy = fake(ALNUM, 32, 10)
    return [
        ("github_token", f'TOKEN = "{github}"', github),
        ("github_fine_grained_token", f'PAT = "{pat}"', pat),
        ("aws_access_key_id", f'AWS_ID = "{aws_id}"', aws_id),
        ("aws_secret_access_key", f'aws_secret_access_key = "{aws_secret}"', aws_secret),
        ("google_api_key", f'KEY = "{google}"', google),
        ("slack_token", f'SLACK = "{slack}"', slack),
        ("stripe_key", f'STRIPE = "{stripe}"', stripe),
        ("google_oauth_secret", f'CLIENT = "{oauth}"', oauth),
        ("slack_webhook", f'HOOK = "{webhook}"', hook_path),
        ("high_entropy_string", f'client_secret = "{entropy}"', entropy),
    ]


CASES = _cases()


@pytest.mark.parametrize(("kind", "line", "secret"), CASES, ids=[c[0] for c in CASES])
def test_each_documented_format_is_found_and_redacted(kind: str, line: str, secret: str) -> None:
    found = secrets_in_line("config.py", 3, line)
    assert [f.kind for f in found] == [kind]
    assert secret not in found[0].redacted
    assert secret[-8:] not in found[0].redacted
    assert found[0].line == 3


def test_private_key_block_needs_a_key_body() -> None:
    header = "-----BEGIN RSA " + "PRIVATE KEY-----"
    body = fake(ALNUM + "/+", 64, 11)
    assert [f.kind for f in secrets_in_line("k.pem", 1, header, body)] == ["private_key"]
    assert secrets_in_line("k.pem", 1, header, "") == []
    assert secrets_in_line("t.py", 1, f'KEY = "{header}\\nnope\\n"') == []


@pytest.mark.parametrize(
    "line",
    [
        'AWS_ID = "AKIAIOSFODNN7EXAMPLE"',  # AWS's documented example
        'password = "changeme-changeme-1234567"',
        "oauth_url = 'https://github.test/login/oauth/authorize?x=1'",
        'api_key = "AIzaFakeGeminiKey123"',
        'token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
        "name = 'ghp_short'",
    ],
)
def test_placeholders_and_low_entropy_values_are_not_secrets(line: str) -> None:
    assert [f for f in secrets_in_line("settings.py", 1, line) if not f.possible] == []


def test_secret_values_never_reach_the_output_or_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = "\n".join(line for _, line, _ in CASES) + "\n"
    result = analyze_commit(commit_of(change("app/config.py", None, body)))
    rendered = json.dumps(result.metrics_dict()) + repr(result) + caplog.text
    rendered += " ".join(reason.detail for reason in result.score.reasons)
    for kind, _, secret in CASES:
        assert secret not in rendered, kind
        assert secret[4:] not in rendered, kind
    assert result.security.issues == len(CASES)
    assert result.metrics_dict()["security"]["secrets_count"] == len(CASES)


def test_a_committed_secret_poisons_the_pet() -> None:
    _, line, _ = CASES[0]
    score = analyze_commit(commit_of(change("app/config.py", None, line + "\n"))).score
    assert score.poisoned
    assert score.quality_score == 0.0
    assert any(r.code == "secret_committed" and r.points == -15 for r in score.reasons)
    assert sum(r.points for r in score.reasons) == score.delta


def test_removed_secrets_do_not_count() -> None:
    _, line, _ = CASES[0]
    result = analyze_commit(commit_of(change("app/config.py", line + "\n", "x = 1\n")))
    assert result.security.secrets == []


def test_risky_calls_in_code_count_but_not_in_strings_or_tests() -> None:
    source = (
        "import pickle, subprocess\n"
        "def f(x, q):\n"
        "    eval(x)\n"
        "    subprocess.run(x, shell=True)\n"
        "    pickle.loads(x)\n"
        '    q.execute("SELECT * FROM users WHERE id = " + x)\n'
        '    doc = "never eval(untrusted) or shell=True"  # eval(x) in a comment\n'
        "    model.eval()\n"
    )
    views = commit_of(
        change("app/danger.py", None, source), change("tests/test_danger.py", None, source)
    )
    security = analyze_commit(views, run_ruff=False).security
    assert security.risky_by_kind() == {
        "eval": 1, "pickle_loads": 1, "shell_true": 1, "sql_concatenation": 1,
    }  # fmt: skip
    assert {call.path for call in security.risky_calls} == {"app/danger.py"}


def test_javascript_inner_html_and_template_sql() -> None:
    source = "el.innerHTML = input;\ndb.query(`SELECT * FROM t WHERE id = ${id}`);\n"
    security = analyze_commit(commit_of(change("web/app.js", None, source))).security
    assert security.risky_by_kind() == {"inner_html": 1, "sql_concatenation": 1}


def test_manifests_and_lock_files_are_reported() -> None:
    commit = commit_of(
        change("package.json", "{}\n", '{"dependencies": {"left-pad": "1.0.0"}}\n'),
        change("package-lock.json", "{}\n", '{"lockfileVersion": 3}\n'),
        change("requirements-dev.txt", None, "pytest\n"),
    )
    result = analyze_commit(commit)
    assert result.security.manifests_changed == ["package.json", "requirements-dev.txt"]
    assert result.security.lockfiles_changed == ["package-lock.json"]
    assert any(r.code == "dependencies_changed" and r.points == 0 for r in result.score.reasons)


def test_entropy_of_uniform_strings() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


def test_vendored_files_are_scanned_for_documented_formats_only() -> None:
    _, token_line, _ = CASES[0]
    _, entropy_line, _ = CASES[-1]
    body = token_line + "\n" + entropy_line + "\n"
    security = analyze_commit(commit_of(change("dist/bundle.js", None, body))).security
    assert [finding.kind for finding in security.secrets] == ["github_token"]
    assert measure_security([]).secrets == []


def test_huge_excluded_patches_are_not_scanned_but_small_ones_are() -> None:
    _, token_line, _ = CASES[0]
    small = change("dist/small.js", None, token_line + "\n")
    huge = change("dist/huge.js", None, "x\n" * 120_000 + token_line + "\n")
    security = analyze_commit(commit_of(small, huge)).security
    assert [finding.path for finding in security.secrets] == ["dist/small.js"]


def test_word_and_candidate_lines() -> None:
    joined = "a = 1\nTOKEN = x\nb = 2\nmy_secret = y"
    assert word_lines(joined, ("token", "secret")) == [1, 3]
    assert word_lines(joined, ("absent",)) == []
    assert candidate_lines(joined, re.compile("=")) == [0, 1, 2, 3]


def _verdict(findings: list[SecretFinding]) -> str:
    """SECRET when one finding is real, POSSIBLE when all are possible, NONE without any."""
    if any(not finding.possible for finding in findings):
        return SECRET
    return POSSIBLE if findings else NONE


CORPUS = corpus()


def test_the_corpus_has_forty_true_and_forty_false_cases() -> None:
    verdicts = [expected for _, _, expected in CORPUS]
    assert verdicts.count(SECRET) >= 40
    assert verdicts.count(POSSIBLE) + verdicts.count(NONE) >= 40
    assert corpus() == CORPUS  # the made-up values are the same on every run


@pytest.mark.parametrize(
    ("path", "line", "expected"), CORPUS, ids=[f"{i}-{c[0]}-{c[2]}" for i, c in enumerate(CORPUS)]
)
def test_secret_corpus(path: str, line: str, expected: str) -> None:
    found = secrets_in_line(path, 7, line)
    assert _verdict(found) == expected, found
    for finding in found:
        assert finding.redacted not in line and finding.redacted.endswith("redacted)")
        assert (finding.path, finding.line) == (path, 7)


def test_the_corpus_values_never_reach_the_findings() -> None:
    checked = 0
    for path, line, _ in CORPUS:
        # the made-up values: long runs holding a digit (names and prefixes hold none)
        values = [v for v in re.findall(r"[\w\-+/]{16,}", line) if re.search(r"\d", v)]
        for finding in secrets_in_line(path, 1, line):
            rendered = json.dumps(finding.__dict__)
            assert not any(value[-12:] in rendered for value in values), (path, rendered)
            checked += len(values)
    assert checked >= 70


@pytest.mark.parametrize(
    ("path", "context"),
    [
        ("tests/test_x.py", CONTEXT_TEST),
        ("pkg/testdata/keys.go", CONTEXT_TEST),
        ("spec/fixtures/a.yml", CONTEXT_TEST),
        ("web/__mocks__/api.js", CONTEXT_TEST),
        ("test-fixtures/a.json", CONTEXT_TEST),
        ("docs/guide/setup.py", CONTEXT_DOCS),
        ("README.md", CONTEXT_DOCS),
        ("pkg/notes.rst", CONTEXT_DOCS),
        ("examples/app/main.go", CONTEXT_DOCS),
        ("app/config.py", None),
        ("src/latest/config.py", None),
        ("contest/settings.py", None),
        ("app/testimony.py", None),
    ],
)
def test_path_context(path: str, context: str | None) -> None:
    assert path_context(path) == context


def test_a_test_key_is_known_by_its_file_name_only_for_private_keys() -> None:
    assert path_context("certs/snakeoil.pem", "private_key") == CONTEXT_TEST
    assert path_context("certs/test-ca.key", "private_key") == CONTEXT_TEST
    assert path_context("certs/prod-ca.key", "private_key") is None
    assert path_context("certs/test-ca.key", "github_token") is None


def test_possible_secrets_say_why() -> None:
    github = "ghp_" + fake(ALNUM, 36, 21)
    google = "AI" + "za" + fake(ALNUM, 35, 22)
    assert [f.context for f in secrets_in_line("tests/a.py", 1, f'T = "{github}"')] == [
        CONTEXT_TEST
    ]
    assert [f.context for f in secrets_in_line("docs/a.md", 1, github)] == [CONTEXT_DOCS]
    assert [f.context for f in secrets_in_line("a.py", 1, 'T = "ghp_' + "0" * 36 + '"')] == [
        CONTEXT_PLACEHOLDER
    ]
    assert [f.context for f in secrets_in_line("a.js", 1, f"MAPS_KEY='{google}'")] == [
        CONTEXT_PUBLISHABLE
    ]
    assert [f.context for f in secrets_in_line("a.js", 1, f"KEY='{google}'")] == [None]


def test_possible_secrets_are_reported_apart_and_never_poison() -> None:
    real = "ghp_" + fake(ALNUM, 36, 31)
    in_test = "ghp_" + fake(ALNUM, 36, 32)
    commit = commit_of(
        change("tests/test_client.py", None, f'TOKEN = "{in_test}"\n'),
        change("README.md", None, "export AWS_ACCESS_KEY_ID=AKIA" + "IOSFODNN7EXAMPLE\n"),
        change("web/pay.js", None, f"Stripe('pk_live_{fake(ALNUM, 24, 33)}');\n"),
    )
    result = analyze_commit(commit, run_ruff=False)
    assert result.security.secrets == []
    assert [(f.path, f.context) for f in result.security.possible_secrets] == [
        ("tests/test_client.py", CONTEXT_TEST),
        ("README.md", CONTEXT_PLACEHOLDER),
        ("web/pay.js", CONTEXT_PUBLISHABLE),
    ]
    assert result.security.issues == 0
    assert not result.score.poisoned
    assert not any(reason.code == "secret_committed" for reason in result.score.reasons)
    rendered = json.dumps(result.metrics_dict()) + repr(result)
    assert in_test[4:] not in rendered

    poisoned = commit_of(change("app/client.py", None, f'TOKEN = "{real}"\n'), *commit.files)
    security = analyze_commit(poisoned, run_ruff=False).security
    assert [(f.path, f.context) for f in security.secrets] == [("app/client.py", None)]
    assert len(security.possible_secrets) == 3


def test_a_test_private_key_in_a_test_directory_is_possible() -> None:
    header = pem("RSA")
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + fake(ALNUM + "+/", 48, 41)
    pem_text = f"{header}\n{body}\n"
    security = analyze_commit(commit_of(change("tests/certs/ca.pem", None, pem_text))).security
    assert security.secrets == []
    assert [f.kind for f in security.possible_secrets] == ["private_key"]
    security = analyze_commit(commit_of(change("deploy/ca.pem", None, pem_text))).security
    assert [f.kind for f in security.secrets] == ["private_key"]
