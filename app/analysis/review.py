"""Optional Gemini review of a commit, through a google-adk `LlmAgent` with an output schema.

The agent reads the diff (secret lines redacted, size bounded) and the metrics,
and answers a summary, its concerns and an adjustment of −3 to +3, which
becomes one separate, visible reason. Without a key nothing happens; on any
failure or after 20 s the deterministic score stands alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass

from google.adk.agents import LlmAgent
from google.adk.models import BaseLlm, Gemini
from google.adk.runners import InMemoryRunner
from google.genai import types
from pydantic import BaseModel, Field

from app.analysis.commit import Commit
from app.analysis.engine import AnalysisResult
from app.analysis.scoring import REVIEW_LIMIT, Reason, Score
from app.analysis.secret_rules import secrets_in_line

log = logging.getLogger(__name__)

REVIEW_TIMEOUT_SECONDS = 20.0
MAX_DIFF_CHARS = 24_000  # the prompt carries at most this much diff
MAX_SUMMARY_CHARS = 300
MAX_CONCERNS = 5
APP_NAME = "tamagitto"
REDACTED_LINE = "[line removed: it holds a secret]"

INSTRUCTION = f"""You review one git commit for a project's health pet.
You get the commit message, measured metrics (JSON) and the diff.
Judge what the metrics cannot see: naming, error handling, correctness risks,
tests that do not test anything, comments that lie. Be brief and concrete.
Answer with: summary (one sentence), concerns (at most {MAX_CONCERNS} short items),
and adjustment: an integer from -{REVIEW_LIMIT} to +{REVIEW_LIMIT}, where 0 means the
metrics already tell the story, positive means better than they suggest."""


class ReviewOutput(BaseModel):
    """What the agent must answer (its `output_schema`)."""

    summary: str = Field(description="One sentence about the commit.")
    concerns: list[str] = Field(default_factory=list, description="Short concrete concerns.")
    adjustment: int = Field(ge=-REVIEW_LIMIT, le=REVIEW_LIMIT, description="-3..+3")


@dataclass(frozen=True)
class Review:
    """A validated review."""

    summary: str
    concerns: tuple[str, ...]
    adjustment: int


def _redacted_patch(path: str, patch: str) -> str:
    """A file's patch with every line holding a secret replaced."""
    lines = []
    for line in patch.split("\n"):
        secret = line.startswith("+") and secrets_in_line(path, 0, line[1:])
        lines.append(f"+{REDACTED_LINE}" if secret else line)
    return "\n".join(lines)


def build_prompt(commit: Commit, result: AnalysisResult) -> str:
    """Message, metrics and a bounded, redacted diff."""
    metrics = json.dumps(result.metrics_dict(), sort_keys=True)[:8000]
    message = commit.info.message.strip()[:2000]
    parts = [f"Commit message:\n{message}", f"Metrics:\n{metrics}", "Diff:"]
    budget = MAX_DIFF_CHARS
    for change in commit.files:
        if change.patch is None or budget <= 0:
            continue
        chunk = f"--- {change.path}\n{_redacted_patch(change.path, change.patch)}"[:budget]
        parts.append(chunk)
        budget -= len(chunk)
    return "\n\n".join(parts)


def build_agent(model: BaseLlm) -> LlmAgent:
    """The reviewing agent: one turn, structured output, no tools."""
    return LlmAgent(
        name="commit_reviewer",
        model=model,
        instruction=INSTRUCTION,
        output_schema=ReviewOutput,
        output_key="review",
    )


def gemini_model(api_key: str, model: str, base_url: str | None = None) -> Gemini:
    """A Gemini model reached with an API key, optionally through another base URL."""
    return Gemini(model=model, base_url=base_url, client_kwargs={"api_key": api_key})


def parse_review(text: str) -> Review:
    """Validate the agent's JSON answer against the schema."""
    output = ReviewOutput.model_validate_json(text)
    concerns = tuple(c.strip()[:200] for c in output.concerns if c.strip())[:MAX_CONCERNS]
    return Review(output.summary.strip()[:MAX_SUMMARY_CHARS], concerns, output.adjustment)


async def run_agent(agent: LlmAgent, prompt: str) -> str:
    """Run the agent once in memory and return the text of its final answer."""
    runner = InMemoryRunner(agent=agent, app_name=APP_NAME)
    session = await runner.session_service.create_session(app_name=APP_NAME, user_id=APP_NAME)
    message = types.Content(role="user", parts=[types.Part(text=prompt)])
    final = ""
    async for event in runner.run_async(
        user_id=APP_NAME, session_id=session.id, new_message=message,
        invocation_id=f"review-{uuid.uuid4().hex}",
    ):  # fmt: skip
        if event.is_final_response() and event.content and event.content.parts:
            final = "".join(part.text or "" for part in event.content.parts if not part.thought)
    return final


async def review_commit(
    commit: Commit,
    result: AnalysisResult,
    *,
    api_key: str | None,
    model: str,
    base_url: str | None = None,
    llm: BaseLlm | None = None,
) -> Review | None:
    """Ask Gemini for a review; None without a key, on any failure, or after the timeout."""
    if llm is None and not api_key:
        return None
    try:
        chosen = llm if llm is not None else gemini_model(api_key or "", model, base_url)
        agent = build_agent(chosen)
        prompt = build_prompt(commit, result)
        text = await asyncio.wait_for(run_agent(agent, prompt), timeout=REVIEW_TIMEOUT_SECONDS)
        return parse_review(text)
    except Exception as error:  # any failure leaves the deterministic score alone
        log.warning("gemini review of %s skipped: %s", commit.info.sha[:12], type(error).__name__)
        return None


def apply_review(score: Score, review: Review | None) -> Score:
    """The score with one more visible reason carrying the review's adjustment."""
    if review is None:
        return score
    points = max(-REVIEW_LIMIT, min(REVIEW_LIMIT, review.adjustment))
    detail = f"Gemini review: {review.summary}"
    if review.concerns:
        detail += f" (concerns: {'; '.join(review.concerns[:2])})"
    return score.with_reason(Reason("gemini_review", points, detail[:280]))
