"""The notification secret endpoints' bodies (`app.web.api.notify`), for the OpenAPI table."""

from __future__ import annotations

from app.core.care_schemas import NotifySecretInfo
from app.core.schemas import Shape


class SecretList(Shape):
    """A repository's stored webhook secrets: names, kinds and hints, never URLs."""

    repository_id: int
    secrets: list[NotifySecretInfo]


class SecretStored(Shape):
    """A secret stored; `created` is false when it replaced one of the same name."""

    secret: NotifySecretInfo
    created: bool
    message: str


__all__ = ["SecretList", "SecretStored"]
