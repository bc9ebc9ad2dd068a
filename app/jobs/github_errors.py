"""What a GitHub failure means for the job that met it: retry later, stop for good, or fail.

Rate limits (primary, secondary, 429) wait for as long as GitHub asks; 5xx, dropped
connections and timeouts back off (`registry.github_backoff`); answers that another try cannot
change (401, 403, 404, 410, 422) stop the job without a retry.
"""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from arq import Retry
from gidgethub import BadRequest, GitHubBroken, GitHubException, RateLimitExceeded

from app.infra import registry


class Stop(Exception):
    """The job cannot succeed (repository gone, App uninstalled): log once, don't retry."""


def retry_after(exc: GitHubException) -> float:
    """How long GitHub asked us to wait (Retry-After, else the rate-limit reset)."""
    headers = getattr(exc, "headers", None) or {}
    if headers.get("retry-after"):
        return float(headers["retry-after"])
    if isinstance(exc, RateLimitExceeded):
        reset_at: datetime = exc.rate_limit.reset_datetime
        return max(1.0, (reset_at - datetime.now(UTC)).total_seconds())
    reset = headers.get("x-ratelimit-reset")
    if reset:
        return max(1.0, float(reset) - datetime.now(UTC).timestamp())
    return 60.0


def is_secondary_limit(exc: GitHubException) -> bool:
    """403 with Retry-After or an exhausted quota is a rate limit, not a permission error."""
    status = getattr(exc, "status_code", None)
    headers = getattr(exc, "headers", None) or {}
    return status == 403 and (
        "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    )


def classify(exc: BaseException, job_try: int) -> BaseException:
    """Map a GitHub failure to the job's fate: Retry (deferred), Stop, or the error itself."""
    if isinstance(exc, RateLimitExceeded) or (
        isinstance(exc, BadRequest) and (exc.status_code == 429 or is_secondary_limit(exc))
    ):
        return Retry(defer=retry_after(exc))
    if isinstance(exc, GitHubBroken | aiohttp.ClientError | TimeoutError):
        return Retry(defer=registry.github_backoff(job_try))
    if isinstance(exc, BadRequest) and exc.status_code in (401, 403, 404, 410, 422):
        return Stop(f"GitHub answered {exc.status_code}")
    return exc
