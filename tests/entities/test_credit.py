"""Credit attribution: the author by login or name and email hash, co-authors sharing the delta."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.entities import credit
from app.entities.credit import AUTHOR, CO_AUTHOR

MESSAGE = """Add the parser

It reads the new format.

Co-authored-by: Grace Hopper <grace@example.com>
co-authored-by:   Alan Turing <12345+aturing@users.noreply.github.com>
"""


def test_a_linked_author_is_their_login() -> None:
    who = credit.person("Ada Lovelace", "ada@example.com", "ada")
    assert who.key == "gh:ada"
    assert who.login == "ada" and who.name == "Ada Lovelace"
    assert who.email_hash == credit.email_hash("ADA@example.com ")


def test_an_unlinked_author_is_name_and_email_hash_never_the_address() -> None:
    who = credit.person("Ada Lovelace", "Ada@Example.com", None)
    assert who.key == f"email:{credit.email_hash('ada@example.com')}"
    assert who.login is None
    assert "example" not in who.key and len(who.key) == len("email:") + credit.EMAIL_HASH_HEX


def test_noreply_addresses_name_the_login() -> None:
    assert credit.noreply_login("12345+octocat@users.noreply.github.com") == "octocat"
    assert credit.noreply_login("octocat@users.noreply.github.com") == "octocat"
    assert credit.noreply_login("49699333+dependabot[bot]@users.noreply.github.com") == (
        "dependabot[bot]"
    )
    assert credit.noreply_login("octocat@example.com") is None
    assert credit.person("", "1+octocat@users.noreply.github.com").key == "gh:octocat"
    assert credit.person("dependabot[bot]", "1+dependabot[bot]@users.noreply.github.com").bot


def test_no_name_and_no_email_is_one_unknown_author() -> None:
    assert credit.person(None, None).key == "unknown"
    assert credit.person("Ada", "").key.startswith("name:")


def test_co_authors_are_read_from_trailers() -> None:
    assert credit.co_authors(MESSAGE) == [
        ("Grace Hopper", "grace@example.com"),
        ("Alan Turing", "12345+aturing@users.noreply.github.com"),
    ]
    assert credit.co_authors("Co-authored-by: nobody") == []


def test_co_authors_share_the_delta_and_shares_add_up() -> None:
    found = credit.credits("Ada", "ada@example.com", "ada", MESSAGE, 7)
    assert [(c.person.key, c.role, c.points) for c in found] == [
        ("gh:ada", AUTHOR, 3),
        (f"email:{credit.email_hash('grace@example.com')}", CO_AUTHOR, 2),
        ("gh:aturing", CO_AUTHOR, 2),
    ]
    losses = credit.credits("Ada", "ada@example.com", "ada", MESSAGE, -7)
    assert [c.points for c in losses] == [-3, -2, -2]


def test_an_author_naming_themselves_is_credited_once() -> None:
    message = (
        "Fix\n\nCo-authored-by: Ada <ada@example.com>\nCo-authored-by: Ada L <ADA@example.com>"
    )
    found = credit.credits("Ada", "ada@example.com", None, message, 4)
    assert [(c.role, c.points) for c in found] == [(AUTHOR, 4)]


def test_a_linked_author_and_their_noreply_trailer_are_one_person() -> None:
    message = "x\n\nCo-authored-by: Ada <9+ada@users.noreply.github.com>"
    assert len(credit.credits("Ada", "ada@work.example", "Ada", message, 2)) == 1


def test_split_examples() -> None:
    assert credit.split(5, 2) == [3, 2]
    assert credit.split(-5, 2) == [-3, -2]
    assert credit.split(0, 3) == [0, 0, 0]
    assert credit.split(2, 3) == [1, 1, 0]
    assert credit.split(4, 0) == []


@given(st.integers(-60, 60), st.integers(1, 20))
def test_split_always_adds_up_and_is_fair(delta: int, count: int) -> None:
    shares = credit.split(delta, count)
    assert sum(shares) == delta and len(shares) == count
    assert max(shares) - min(shares) <= 1
    assert shares == sorted(shares, key=abs, reverse=True)


def test_a_co_author_whose_address_a_linked_commit_used_is_that_account() -> None:
    ada = credit.person("Ada", "ada@work.example", "ada")
    known = credit.aliases([ada, credit.person("Bob", "bob@example.com")])
    assert list(known) == [ada.email_hash]
    message = "x\n\nCo-authored-by: Ada L. <Ada@Work.example>"
    found = credit.resolve(credit.credits("Bob", "bob@example.com", None, message, 5), known)
    assert [(c.person.key, c.role, c.points) for c in found] == [
        (credit.person("Bob", "bob@example.com").key, AUTHOR, 3),
        ("gh:ada", CO_AUTHOR, 2),
    ]
    twice = credit.resolve(credit.credits("Ada", "ada@work.example", None, message, 5), known)
    assert [(c.person.key, c.points) for c in twice] == [("gh:ada", 5)]
