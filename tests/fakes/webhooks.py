"""A fake Slack/Discord incoming-webhook receiver on loopback, which can fail on purpose."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Receiver:
    """Records every POST; answers each with the next scripted status (then 200 or 204)."""

    ok_status: int = 200
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0

    def fail_next(self, status: int, times: int = 1, **headers: str) -> None:
        """Answer the next `times` requests with `status` (and these headers)."""
        self.script += [(status, headers)] * times

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """The bodies of requests that were answered with success."""
        return [r["body"] for r in self.received if r["ok"]]

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        status, headers = self.script.pop(0) if self.script else (self.ok_status, {})
        body = json.loads(await request.read() or b"null")
        self.received.append({"path": request.path, "body": body, "ok": status < 300})
        if status == 429 and "retry_after" in headers:
            payload = {
                "message": "You are being rate limited.",
                "retry_after": float(headers["retry_after"]),
            }
            return web.json_response(payload, status=429)
        return web.Response(status=status, text="ok" if status < 300 else "no", headers=headers)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        return app
