"""Keyset pagination shared by every list (DESIGN.md §5).

The cursor is the opaque, URL-safe form of the last item's id; the next page is
`WHERE id > :last ORDER BY id` (or `<` newest first), so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from tenantry.errors import ProblemError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

Item = TypeVar("Item")


class InvalidCursor(ProblemError):
    status = 400
    code = "invalid_cursor"
    title = "Invalid cursor"


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    after: uuid.UUID | None


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("The cursor is not one this service issued.") from exc


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)
