"""The optional Gemini review: offline with a scripted BaseLlm, and through a fake Gemini server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from aiohttp import web
from google.adk.models import BaseLlm, LlmCapabilities, LlmRequest, LlmResponse
from google.genai import types
from pydantic import Field

from app.analysis import review as review_module
from app.analysis.engine import AnalysisResult, analyze_commit
from app.analysis.review import Review, apply_review, review_commit
from tests.analysis.helpers import change, commit_of
from tests.analysis.lang_cases import PYTHON
from tests.analysis.test_security import CASES

GOOD = json.dumps({"summary": "Clear grading logic.", "concerns": ["no test for 80-90"],
                   "adjustment": 2})  # fmt: skip


class ScriptedLlm(BaseLlm):
    """Answers each request with the next scripted text, after an optional delay."""

    model: str = "scripted"
    script: list[str] = Field(default_factory=list)
    requests: list[LlmRequest] = Field(default_factory=list)
    delay: float = 0.0
    fail: bool = False

    @property
    def capabilities(self) -> LlmCapabilities:
        return LlmCapabilities(output_schema_and_tools=True)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("model exploded")
        text = self.script.pop(0)
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]))


def _subject() -> tuple[Any, AnalysisResult]:
    _, secret_line, _ = CASES[0]
    after = PYTHON.after + secret_line + "\n"
    commit = commit_of(change(PYTHON.source_path, PYTHON.before, after))
    return commit, analyze_commit(commit, run_ruff=False)


async def test_scripted_review_becomes_one_visible_reason() -> None:
    commit, result = _subject()
    llm = ScriptedLlm(script=[GOOD])
    review = await review_commit(commit, result, api_key=None, model="x", llm=llm)
    assert review == Review("Clear grading logic.", ("no test for 80-90",), 2)
    adjusted = apply_review(result.score, review)
    assert adjusted.delta == result.score.delta + 2
    assert adjusted.reasons[-1].code == "gemini_review"
    assert sum(r.points for r in adjusted.reasons) == adjusted.delta
    assert "no test for 80-90" in adjusted.reasons[-1].detail


async def test_the_prompt_carries_the_schema_and_never_the_secret() -> None:
    commit, result = _subject()
    llm = ScriptedLlm(script=[GOOD])
    await review_commit(commit, result, api_key=None, model="x", llm=llm)
    request = llm.requests[0]
    sent = " ".join(part.text or "" for c in request.contents for part in c.parts or [])
    assert "def clamp(value):" in sent and "Metrics:" in sent
    assert CASES[0][2] not in sent and review_module.REDACTED_LINE in sent
    assert request.config is not None and request.config.response_schema is not None


@pytest.mark.parametrize(
    "answer",
    ["not json", json.dumps({"summary": "x", "adjustment": 7}), json.dumps({"adjustment": 1})],
)
async def test_bad_answers_give_no_review(answer: str) -> None:
    commit, result = _subject()
    review = await review_commit(
        commit, result, api_key=None, model="x", llm=ScriptedLlm(script=[answer])
    )
    assert review is None
    assert apply_review(result.score, review) == result.score


async def test_failures_and_timeouts_give_no_review(monkeypatch: pytest.MonkeyPatch) -> None:
    commit, result = _subject()
    assert (
        await review_commit(commit, result, api_key=None, model="x", llm=ScriptedLlm(fail=True))
        is None
    )
    monkeypatch.setattr(review_module, "REVIEW_TIMEOUT_SECONDS", 0.05)
    slow = ScriptedLlm(script=[GOOD], delay=5)
    assert await review_commit(commit, result, api_key=None, model="x", llm=slow) is None


async def test_without_a_key_nothing_happens() -> None:
    commit, result = _subject()
    assert await review_commit(commit, result, api_key=None, model="gemini-2.5-flash") is None
    assert await review_commit(commit, result, api_key="", model="gemini-2.5-flash") is None


def _fake_gemini(answer: str, seen: list[dict[str, Any]]) -> web.Application:
    async def generate(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(
            {"path": request.path, "key": request.headers.get("x-goog-api-key"), "body": body}
        )
        return web.json_response({
            "candidates": [{"content": {"role": "model", "parts": [{"text": answer}]},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                              "totalTokenCount": 15},
            "modelVersion": "gemini-2.5-flash",
        })  # fmt: skip

    app = web.Application()
    app.router.add_post("/{version}/models/{model_and_method}", generate)
    return app


async def test_against_a_fake_gemini_server(aiohttp_server: Any) -> None:
    seen: list[dict[str, Any]] = []
    server = await aiohttp_server(_fake_gemini(GOOD, seen))
    commit, result = _subject()
    review = await review_commit(commit, result, api_key="test-key", model="gemini-2.5-flash",
                                 base_url=str(server.make_url("")).rstrip("/"))  # fmt: skip
    assert review is not None and review.adjustment == 2
    assert len(seen) == 1
    assert seen[0]["path"].endswith("/models/gemini-2.5-flash:generateContent")
    assert seen[0]["key"] == "test-key"
    config = seen[0]["body"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseSchema" in config or "responseJsonSchema" in config


async def test_fake_gemini_server_errors_are_swallowed(aiohttp_server: Any) -> None:
    app = web.Application()

    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": 500, "message": "boom"}}, status=500)

    app.router.add_post("/{version}/models/{model_and_method}", broken)
    server = await aiohttp_server(app)
    commit, result = _subject()
    review = await review_commit(commit, result, api_key="k", model="gemini-2.5-flash",
                                 base_url=str(server.make_url("")).rstrip("/"))  # fmt: skip
    assert review is None
