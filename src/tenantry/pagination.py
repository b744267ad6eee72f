"""Keyset pagination shared by every list (DESIGN.md §5).

The cursor is the opaque, URL-safe form of the last item's id; the next page is
`WHERE id > :last ORDER BY id` (or `<` newest first), so page 10,000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar, TypeVarTuple

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from tenantry.errors import ProblemError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# 16 bytes of id in unpadded base64url; empty means the first page. Documented, but
# checked here rather than by FastAPI, so a malformed cursor stays `400 invalid_cursor`.
CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{22})?$"

Item = TypeVar("Item")
Columns = TypeVarTuple("Columns")


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


def keyset(
    statement: Select[*Columns],
    key: InstrumentedAttribute[uuid.UUID],
    page: PageParams,
    *,
    newest_first: bool = False,
) -> Select[*Columns]:
    """`statement` narrowed to one page: ordered by `key`, past the cursor, with one row
    more than the page holds (its presence means there is a next page)."""
    statement = statement.order_by(key.desc() if newest_first else key).limit(page.limit + 1)
    if page.after is not None:
        statement = statement.where(key < page.after if newest_first else key > page.after)
    return statement


async def paginate(
    db: AsyncSession,
    statement: Select[*Columns],
    *,
    key: InstrumentedAttribute[uuid.UUID],
    page: PageParams,
    render: Callable[..., Item],
    newest_first: bool = False,
) -> Page[Item]:
    """One keyset page of `statement`: each row is passed to `render` as its columns
    (`render(product)`, `render(membership, role, user)`); `key` must belong to the
    row's first entity, whose value at the last row becomes the next cursor."""
    result = await db.execute(keyset(statement, key, page, newest_first=newest_first))
    rows = list(result.all())
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page[Item](
        items=[render(*row) for row in rows],
        next_cursor=encode_cursor(getattr(next(iter(rows[-1])), key.key)) if has_more else None,
    )
