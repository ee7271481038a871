"""Small helpers shared by the routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Query, Response

from domain.errors import InvalidValue, NotFound
from domain.limits import DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE

T = TypeVar("T")

Limit = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE})"),
]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`next_cursor` from the previous page")]


def path_id(parse: Callable[[str], T], value: str, what: str) -> T:
    """An id in the path that is not even the right shape names nothing: 404, like an unknown one."""
    try:
        return parse(value)
    except (InvalidValue, ValueError):
        raise NotFound(f"no {what} {value!r}") from None


def request_uuid(value: str) -> UUID:
    return path_id(UUID, value, "funding request")


def with_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'
