"""The site's pages as served by the app: content from the code, CSP, 404s, docs, assets."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from aiohttp import web
from sqlalchemy import select, update

from app.analysis import scoring
from app.core.config import Settings
from app.core.models import CommitAnalysis, Entity, Repository
from app.entities import rules
from app.entities.species import SPECIES
from app.infra.runtime import RUNTIME
from app.jobs import repo_config
from app.web.factory import init_app
from app.web.site import docs, handlers, landing, templating
from tests.fakes.github import FakeGitHub
from tests.site.helpers import embedded_json, find, parse
from tests.site.seed import MAIN, PRIVATE, Seeded, sha_for

PAGES = ["/", f"/pets/{MAIN}", "/docs/", "/docs/config", "/docs/self-hosting", "/docs/api"]
HTML = {"Accept": "text/html,application/xhtml+xml"}


# --- the landing page -------------------------------------------------------------------------


async def test_landing_shows_every_species_in_every_state(site_client: Any) -> None:
    resp = await site_client.get("/")
    assert resp.status == 200
    doc = parse(await resp.text())
    seen = set()
    for figure in find(doc, "figure", class_="sprite"):
        section = figure.closest("section")
        assert section is not None
        seen.add((section.attrs["data-species"], figure.attrs["data-state"]))
        assert figure.closest("figure") is None  # figures aren't nested
    expected = {(s, state) for s in SPECIES for state in rules.HEALTH_STATES}
    assert expected <= seen
    assert ("dead", rules.DEAD_VISUAL) in seen
    # each picture is a real, labelled sprite
    assert len(find(doc, "svg", role="img")) >= len(expected) + 1


async def test_landing_rules_come_from_the_code(site_client: Any) -> None:
    html = await (await site_client.get("/")).text()
    doc = parse(html)
    codes = [item.attrs["data-code"] for item in find(doc, "li") if "data-code" in item.attrs]
    assert codes == [str(rule["code"]) for rule in scoring.RULES]
    states = [row.attrs["data-state"] for row in find(doc, "tr") if "data-state" in row.attrs]
    assert states == list(rules.HEALTH_STATES)
    assert f"{rules.THRIVING_AT}–{rules.MAX_HEALTH}" in html
    assert f"loses {rules.DECAY_PER_DAY} health per day" in html
    assert f"{rules.GRACE_DAYS}-day grace period" in html
    assert f"{int(rules.COOLDOWN.total_seconds() // 3600)} hours after death" in html
    assert f"capped at ±{scoring.FORMULA_CAP}" in html


def test_rules_sections_follow_changed_constants(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is copied: change a constant and the rendered text changes with it."""
    monkeypatch.setattr(rules, "DECAY_PER_DAY", 7)
    monkeypatch.setattr(rules, "COOLDOWN", timedelta(hours=99))
    monkeypatch.setattr(rules, "THRIVING_AT", 85)
    monkeypatch.setattr(
        scoring, "RULES", [*scoring.RULES, {"code": "made_up", "points": 3, "rule": "x"}]
    )
    assert "loses 7 health per day" in landing.life_html()
    assert "99 hours after death" in landing.life_html()
    assert 'data-code="made_up"' in landing.scoring_html()
    # the ranges come from asking health_state, which reads the patched threshold
    assert ("thriving", 85, 100) in landing.state_ranges()


async def test_install_button_goes_to_setup_before_the_app_exists(site_client: Any) -> None:
    doc = parse(await (await site_client.get("/")).text())
    (button,) = find(doc, "a", id="install")
    assert button.attrs["href"] == "/setup"


async def _enterprise_github(aiohttp_server: Any) -> Any:
    """The shared fake GitHub, serving its REST API under `/api/v3` as GitHub Enterprise does."""
    fake = FakeGitHub(slug="pet-keeper", prefix="/api/v3")
    server = await aiohttp_server(fake.make_app())
    fake.url = str(server.make_url("/api/v3"))
    return fake


async def test_install_button_uses_the_app_slug_on_ghe(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Callable[..., Settings]
) -> None:
    github = await _enterprise_github(aiohttp_server)
    settings = make_settings(
        APP_ID=str(github.app_id),
        PRIVATE_KEY=github.private_key_pem,
        WEBHOOK_SECRET="site-test-secret",
        GHE_HOST="ghe.example",
        GITHUB_API_URL=github.url,
    )
    client = await aiohttp_client(init_app(settings))
    for _ in range(2):
        doc = parse(await (await client.get("/")).text())
        (button,) = find(doc, "a", id="install")
        assert button.attrs["href"] == "https://ghe.example/apps/pet-keeper/installations/new"
    assert len(github.calls("apps/get-authenticated")) == 1  # asked once, then cached
    assert github.errors == []


async def test_install_button_survives_github_failing(
    aiohttp_client: Any, aiohttp_server: Any, make_settings: Callable[..., Settings]
) -> None:
    github = await _enterprise_github(aiohttp_server)
    github.fail("GET", "^/app$", 500, times=10)
    settings = make_settings(
        APP_ID=str(github.app_id),
        PRIVATE_KEY=github.private_key_pem,
        WEBHOOK_SECRET="site-test-secret",
        GITHUB_API_URL=github.url,
    )
    client = await aiohttp_client(init_app(settings))
    for _ in range(3):
        resp = await client.get("/")
        assert resp.status == 200
        (button,) = find(parse(await resp.text()), "a", id="install")
        assert button.attrs["href"] == "https://github.com/apps"
    # no retry storm: the next try waits SLUG_RETRY seconds
    assert len(github.calls("apps/get-authenticated")) == 1
    assert github.errors == []


# --- security headers and no other origins ----------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, f"/pets/{PRIVATE}", "/no/such/page"])
async def test_every_page_has_a_strict_csp_and_only_local_resources(
    site_client: Any, path: str
) -> None:
    resp = await site_client.get(path, headers=HTML)
    assert resp.content_type == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    html = await resp.text()
    assert "{{" not in html
    doc = parse(html)
    for element in doc.elements:
        assert "style" not in element.attrs, f"inline style on <{element.tag}> (CSP forbids it)"
        assert not any(k.startswith("on") for k in element.attrs), f"inline handler on {element}"
        for attr in ("src", "srcset", "poster", "data"):
            value = element.attrs.get(attr, "")
            assert not re.match(r"(https?:)?//", value), f"{attr}={value} loads another origin"
        if element.tag == "link":
            assert not re.match(r"(https?:)?//", element.attrs.get("href", ""))
        if element.tag == "script":
            assert element.attrs.get("src") or element.attrs.get("type") == "application/json"


async def test_other_features_html_gets_a_default_csp(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    app = init_app(make_settings())

    async def other(request: web.Request) -> web.Response:
        return web.Response(text="<p>hi</p>", content_type="text/html")

    app.router.add_get("/other-feature", other)
    client = await aiohttp_client(app)
    resp = await client.get("/other-feature")
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


# --- the pet page -----------------------------------------------------------------------------


async def test_pet_page_embeds_the_public_apis_shapes(site_client: Any, seeded: Seeded) -> None:
    resp = await site_client.get(f"/pets/{MAIN}")
    assert resp.status == 200
    html = await resp.text()
    data = embedded_json(html, "pet-data")
    entity: Any = data["entity"]
    assert entity["health_score"] == seeded.main_health == 72
    assert entity["state"] == "healthy" and entity["status"] == "alive"
    assert entity["visual_url"].startswith("/images/")
    history: Any = data["health_history"]
    assert [h["health_score"] for h in history] == [88, 78, 84, 79, 72]
    assert [h["commit_sha"] for h in history] == seeded.main_shas
    analyses: Any = data["recent_analyses"]
    assert [a["commit"]["sha"] for a in analyses] == list(reversed(seeded.main_shas))
    assert "octo@example.com" not in html  # e-mails never reach public pages
    # the same data the public API gives, so a refresh from it changes nothing
    api = await (await site_client.get(f"/api/public/pets/{MAIN}")).json()
    assert api["health_history"] == history
    assert api["recent_analyses"] == analyses
    assert api["entity"]["visual_url"].endswith(entity["visual_url"])
    doc = parse(html)
    (main,) = find(doc, "main", id="main")
    assert main.attrs["data-ws-url"] == f"/api/ws?repository={MAIN}"
    assert main.attrs["data-api-url"] == f"/api/public/pets/{MAIN}"


async def test_pet_page_server_renders_the_card(site_client: Any) -> None:
    html = await (await site_client.get(f"/pets/{MAIN}")).text()
    doc = parse(html)
    assert 'id="pet-health">72<' in html
    assert 'id="pet-state" class="state-word">Healthy<' in html
    (bar,) = find(doc, "rect", id="pet-health-bar")
    assert bar.attrs["width"] == "72"
    assert find(doc, "section", id="pet")[0].attrs["class"] == "pet-card state-healthy"
    snippet = "[![Pistachio, the Tamagitto pet of octo-org/hello-pets]"
    assert snippet in html.replace("&#x27;", "'")
    assert f"(https://pets.example/badge/{MAIN}.svg)](https://pets.example/pets/{MAIN})" in html
    (label,) = find(doc, "label", for_="badge-markdown")
    assert label


async def test_pet_page_is_case_insensitive(site_client: Any) -> None:
    assert (await site_client.get("/pets/Octo-Org/Hello-Pets")).status == 200


async def test_sha_brings_an_older_analysis_onto_the_page(site_client: Any, seeded: Seeded) -> None:
    now = datetime.now(UTC)
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        for i in range(12):
            session.add(
                CommitAnalysis(
                    repository_id=seeded.main_repository_id,
                    sha=sha_for("newer", i),
                    message=f"newer {i}",
                    processed_at=now - timedelta(minutes=i),
                )
            )
    oldest = seeded.main_shas[0]
    plain = embedded_json(await (await site_client.get(f"/pets/{MAIN}")).text(), "pet-data")
    assert oldest not in [a["commit"]["sha"] for a in plain["recent_analyses"]]  # type: ignore[attr-defined]
    page = await site_client.get(f"/pets/{MAIN}?sha={oldest[:7]}")
    data = embedded_json(await page.text(), "pet-data")
    assert oldest in [a["commit"]["sha"] for a in data["recent_analyses"]]  # type: ignore[attr-defined]
    for bad in ("zz", "abc", "<script>"):
        assert (await site_client.get(f"/pets/{MAIN}?sha={bad}")).status == 200


async def test_hostile_names_cannot_break_out_of_the_page(site_client: Any, seeded: Seeded) -> None:
    evil = "</script><script>alert(1)</script>"
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        await session.execute(
            update(Entity).where(Entity.id == seeded.main_entity_id).values(name=evil)
        )
    html = await (await site_client.get(f"/pets/{MAIN}")).text()
    assert evil not in html
    data = embedded_json(html, "pet-data")
    assert data["entity"]["name"] == evil  # type: ignore[index]


@pytest.mark.parametrize("path", [f"/pets/{PRIVATE}", "/pets/nobody/nothing"])
async def test_private_and_unknown_pets_get_the_same_friendly_404(
    site_client: Any, path: str
) -> None:
    resp = await site_client.get(path)
    assert resp.status == 404
    html = await resp.text()
    assert "Nothing lives here" in html
    assert "There is no public pet for this repository." in html
    assert "secret-lair" not in html.replace(path, "")


async def test_a_public_repository_turned_private_disappears(
    site_client: Any, seeded: Seeded
) -> None:
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        await session.execute(
            update(Repository)
            .where(Repository.id == seeded.main_repository_id)
            .values(private=True)
        )
    assert (await site_client.get(f"/pets/{MAIN}")).status == 404
    assert (await site_client.get(f"/badge/{MAIN}.svg")).status == 404


async def test_unmatched_pages_get_the_friendly_404_but_apis_do_not(site_client: Any) -> None:
    page = await site_client.get("/definitely/not/here", headers=HTML)
    assert page.status == 404 and "Nothing lives here" in await page.text()
    plain = await site_client.get("/definitely/not/here", headers={"Accept": "application/json"})
    assert plain.status == 404 and "Nothing lives here" not in await plain.text()
    api = await site_client.get("/api/definitely-not", headers=HTML)
    assert api.status == 404 and "Nothing lives here" not in await api.text()
    assert (await site_client.get("/docs/nope")).status == 404


# --- pictures and assets ----------------------------------------------------------------------


async def test_pet_pictures_are_immutable_and_validated(site_client: Any) -> None:
    data = embedded_json(await (await site_client.get(f"/pets/{MAIN}")).text(), "pet-data")
    url = data["entity"]["visual_url"]  # type: ignore[index]
    resp = await site_client.get(url)
    assert resp.status == 200
    assert resp.content_type == "image/svg+xml"
    assert resp.headers["Cache-Control"] == "public, max-age=2592000, immutable"
    content_hash = url.rsplit("/", 1)[1].split(".")[0]
    assert resp.headers["ETag"] == f'"{content_hash}"'
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    again = await site_client.get(url, headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""
    assert (await site_client.get(url.replace(".svg", ".png"))).status == 404
    assert (await site_client.get("/images/" + "0" * 64 + ".svg")).status == 404


async def test_assets_are_versioned_and_cacheable(site_client: Any) -> None:
    html = await (await site_client.get("/")).text()
    (href,) = re.findall(r'href="(/assets/site\.css\?v=[0-9a-f]+)"', html)
    resp = await site_client.get(href)
    assert resp.status == 200 and resp.content_type == "text/css"
    assert "immutable" in resp.headers["Cache-Control"]
    plain = await site_client.get("/assets/site.css")
    assert "immutable" not in plain.headers["Cache-Control"]
    cached = await site_client.get(href, headers={"If-None-Match": resp.headers["ETag"]})
    assert cached.status == 304
    assert (await site_client.get("/assets/../app/site.py")).status == 404
    assert (await site_client.get("/assets/nope.js")).status == 404
    assert (await site_client.get("/favicon.ico")).status == 200


# --- docs -------------------------------------------------------------------------------------


CONFIG_KEYS = {
    "name",
    "species",
    "branches",
    "ignore",
    "fail_below",
    "context",
    "llm_review",
    "decay",
    "report",
    "comment",
    "annotations",
    "caretakers",
    "notify",
}


async def test_config_reference_lists_every_key(site_client: Any) -> None:
    html = await (await site_client.get("/docs/config")).text()
    doc = parse(html)
    documented = {
        e.attrs["id"].removeprefix("key-")
        for e in find(doc, "div", class_="entry")
        if e.attrs.get("id", "").startswith("key-")
    }
    assert documented == CONFIG_KEYS == set(repo_config.KEYS)
    for species in repo_config.SPECIES:
        assert f"<code>{species}</code>" in html
    assert f"<code>{repo_config.DEFAULT_CONTEXT}</code>" in html


async def test_config_example_passes_the_real_validator(site_client: Any) -> None:
    html_text = await (await site_client.get("/docs/config")).text()
    match = re.search(r'<code id="config-example">(.*?)</code>', html_text, re.DOTALL)
    assert match
    config = repo_config.parse_config(html.unescape(match.group(1)))
    assert config.valid and config.warnings == (), (config.errors, config.warnings)
    assert set(yaml.safe_load(html.unescape(match.group(1)))) == CONFIG_KEYS


async def test_pet_page_lists_config_problems(site_client: Any, seeded: Seeded) -> None:
    assert 'id="config-problems"' not in await (await site_client.get(f"/pets/{MAIN}")).text()
    bad = repo_config.parse_config(b"fail_below: lots\ncolour: blue\n").as_dict()
    async with site_client.app[RUNTIME].sessionmaker() as session, session.begin():
        await session.execute(
            update(Repository).where(Repository.id == seeded.main_repository_id).values(config=bad)
        )
    doc = parse(await (await site_client.get(f"/pets/{MAIN}")).text())
    (notice,) = find(doc, "section", id="config-problems")
    items = [li for li in find(doc, "li") if li.closest("section") is notice]
    assert len(items) == 2  # the error and the unknown key


async def test_self_hosting_lists_every_setting_and_the_deploy_files(site_client: Any) -> None:
    html = await (await site_client.get("/docs/self-hosting")).text()
    doc = parse(html)
    rows = {e.attrs["data-setting"] for e in find(doc, "div") if "data-setting" in e.attrs}
    aliases = {str(f.alias) for f in Settings.model_fields.values()}
    assert rows == aliases
    assert aliases <= set(docs.SETTING_HELP), "describe every setting in app.web.site.SETTING_HELP"
    assert "reverse_proxy" in html  # the Caddyfile, as it is in deploy/
    assert "services:" in html  # compose.yaml
    assert "/setup" in html


async def test_api_docs_link_the_openapi_document(site_client: Any) -> None:
    doc = parse(await (await site_client.get("/docs/api")).text())
    assert find(doc, "a", href="/api/openapi.json")
    assert (await site_client.get("/docs")).status == 200  # redirected to /docs/


# --- the setup wizard's pages -----------------------------------------------------------------


def test_setup_page_posts_the_manifest_to_github(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(GHE_HOST="ghe.example")
    manifest = {"name": 'Tamagitto "test" <app>', "url": "https://x.example", "public": False}
    resp = handlers.render_setup(settings, manifest, state="abc123")
    assert resp.text is not None
    doc = parse(resp.text)
    (form,) = find(doc, "form", id="manifest-form")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == "https://ghe.example/settings/apps/new?state=abc123"
    (field,) = find(doc, "input", name="manifest")
    assert json.loads(field.attrs["value"]) == manifest
    assert find(doc, "input", id="owner-org") and find(doc, "label", for_="org-name")
    assert "form-action 'self' https://ghe.example" in resp.headers["Content-Security-Policy"]
    assert "{{" not in resp.text


def test_setup_done_page_says_how_to_restart() -> None:
    resp = handlers.render_setup_done("pet-keeper", "https://github.com/apps/pet-keeper")
    assert resp.text is not None
    assert "{{" not in resp.text
    doc = parse(resp.text)
    (install,) = find(doc, "a", id="install-app")
    assert install.attrs["href"] == "https://github.com/apps/pet-keeper/installations/new"
    assert "tamagitto serve" in resp.text and "restart" in resp.text.lower()


def test_templates_refuse_unknown_placeholders() -> None:
    assets = {"x.css": templating.Asset(b"", "text/css", "f" * 32)}
    env = templating.template_env(assets)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ NOPE }}").render()
    assert (
        env.from_string('{{ A }}-{{ asset("x.css") }}').render(A="1")
        == "1-/assets/x.css?v=ffffffffff"
    )
    assert env.from_string("{{ A }}").render(A='<b a="1">') == "&lt;b a=&#34;1&#34;&gt;"


async def test_no_history_no_analyses_still_renders(site_client: Any) -> None:
    async with site_client.app[RUNTIME].sessionmaker() as session:
        repo = await session.scalar(select(Repository).where(Repository.full_name == "demo/dead"))
        assert repo is not None
    resp = await site_client.get("/pets/demo/dead")
    assert resp.status == 200
    html = await resp.text()
    assert 'id="pet-state" class="state-word">Dead<' in html
    assert "state-dead" in html


async def test_landing_shows_the_recorded_validity_figures(site_client: Any) -> None:
    record = json.loads(landing.VALIDITY_FILE.read_text())
    html = await (await site_client.get("/")).text()
    assert "Does the score mean anything?" in html
    table = find(parse(html), "table", class_="validity")
    assert len(table) == 1
    assert f"{record['pooled']['auc_delta']:.2f}" in html
    assert f"Measured {record['date']}" in html
    assert all(history["name"] in html for history in record["histories"])


def test_validity_without_a_record_says_so(tmp_path: Path) -> None:
    assert "No validity figures" in landing.validity_html(tmp_path / "missing.json")
    (tmp_path / "v.json").write_text(json.dumps({"date": "2026-01-02", "histories": [
        {"name": "a/b", "scored": 9, "auc_delta": 0.7049, "auc_size": 0.6, "size_controlled": 0.55,
         "at_max": 0.125, "median_health": 70, "deaths": 3, "deaths_decay_only": 4}],
        "pooled": {"scored": 9, "auc_delta": 0.7049}}))  # fmt: skip
    html = landing.validity_html(tmp_path / "v.json")
    assert "<td>0.70</td>" in html and "<td>12%</td>" in html and "<td>3 (4)</td>" in html
