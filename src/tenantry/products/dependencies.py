"""The `If-Match` request header, read into a `Precondition` (conditions.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from tenantry.products.conditions import Precondition, parse_if_match


async def read_if_match(
    if_match: Annotated[str | None, Header(max_length=1024)] = None,
) -> Precondition | None:
    return parse_if_match(if_match) if if_match is not None else None


IfMatch = Annotated[Precondition | None, Depends(read_if_match)]
