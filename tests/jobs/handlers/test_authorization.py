"""`app/jobs/handlers/authorization.py`: a revoked App authorization forgets the user's tokens.

Closing that person's open WebSockets is tested with the hub, in
`tests/api/test_ws_revocation.py`.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import example
from tests.jobs.handlers.helpers import rows, run


async def test_authorization_revoked_forgets_tokens(ctx: dict[str, Any]) -> None:
    from app.core.models import User

    payload = example("github_app_authorization", "revoked")
    async with ctx["sessionmaker"].begin() as session:
        session.add(
            User(
                github_id=payload["sender"]["id"],
                login="octocat",
                token_ciphertext=b"sealed",
                token_key_id="k1",
            )
        )
    await run(ctx, "github_app_authorization", payload)
    (user,) = await rows(ctx, User)
    assert user.token_ciphertext is None and user.token_key_id is None
