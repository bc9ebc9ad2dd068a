"""Job names and job ids, written once for every module that queues or runs a job.

A job id deduplicates (arq's `_job_id`, the jobs table's key), so whichever path queues an
analysis (a push, the poller, a redelivery) must spell it the same way.
"""

from __future__ import annotations

ANALYZE = "analyze_commit"
PUSH_STATUS = "post_push_status"


def analyze_job_id(repository_id: int, sha: str) -> str:
    """One analysis job per repository and sha, whichever path queued it."""
    return f"analyze:{repository_id}:{sha}"


def push_status_job_id(repository_id: int, head: str) -> str:
    """One summary status per pushed head of a big push."""
    return f"push-status:{repository_id}:{head}"
