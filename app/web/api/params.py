"""Request parameters parsed with pydantic models: odd input is a 400 naming the parameter.

Each endpoint declares its query and body as a model; `parse` validates and turns the first
problem into the API's `invalid_request` error, so no handler converts text by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from app.web.api.errors import ApiError, invalid

MAX_ID = 2**63 - 1  # BIGINT: larger values would fail in the database, not here
_DIGITS = re.compile(r"\s*-?[0-9]{1,20}\s*", re.ASCII)


def _from_digits(value: Any) -> Any:
    """ASCII decimal text becomes an int; anything else goes to strict validation as it is.

    `str.isdigit()` accepts `²` and `int()` accepts `1_0`, so neither decides here.
    """
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return value


Whole = Annotated[int, Field(strict=True), BeforeValidator(_from_digits)]
Id = Annotated[Whole, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Params(BaseModel):
    """Base of every parameter model: unknown parameters are ignored, values are frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)


P = TypeVar("P", bound=BaseModel)


def _problem(exc: ValidationError) -> ApiError:
    """The first failing field as a 400 that names it (dotted for nested body fields)."""
    error = exc.errors(include_url=False)[0]
    name = ".".join(str(part) for part in error["loc"]) or "body"
    ctx = error.get("ctx") or {}
    details: dict[str, Any] = {}
    if "ge" in ctx:
        details["minimum"] = ctx["ge"]
    if "le" in ctx:
        details["maximum"] = ctx["le"]
    if "expected" in ctx:
        details["allowed"] = str(ctx["expected"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return invalid(name, f"`{name}`: {message}.", **details)


def parse(model: type[P], data: Mapping[str, Any]) -> P:
    """Validate `data` (a query string or a JSON object) into `model`, or raise a 400."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise _problem(exc) from None


_ID = TypeAdapter(Id)


def path_id(match_info: Mapping[str, str], name: str) -> int:
    """A positive id from the path."""
    try:
        return int(_ID.validate_python(match_info[name]))
    except ValidationError:
        raise invalid(name, f"`{name}` must be a positive integer.") from None


def printable(value: str, max_length: int) -> bool:
    """Storable text: no control characters, valid UTF-8, not too long.

    PostgreSQL refuses NUL and lone surrogates with an error, so they are refused here first.
    """
    if not value or len(value) > max_length or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
