"""Keyset pagination shared by every list (DESIGN.md §5).

The cursor is the opaque, URL-safe form of the last item's id; the next page is
`WHERE id > :last ORDER BY id` (or `<` newest first), so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from tenantry.errors import ProblemError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# 16 bytes of id in unpadded base64url; empty means the first page. Documented, but
# checked here rather than by FastAPI, so a malformed cursor stays `400 invalid_cursor`.
CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{22})?$"

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
    # The decoder would skip characters outside the alphabet; the pattern refuses them.
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise InvalidCursor("The cursor is not one this service issued.")
    return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=="))


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=64, json_schema_extra={"pattern": CURSOR_PATTERN})
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)
