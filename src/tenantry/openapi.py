"""OpenAPI descriptions of the problem responses, so `/docs` lists every error."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel


class ErrorItem(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details with Tenantry's stable `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ErrorItem] | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }
