"""Conditional requests on products: `ETag` out, `If-Match` in (RFC 9110 §8.8.3, §13.1.1)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')
_VERSION = re.compile(r"[0-9]{1,10}")
# `products.version` is a 32-bit column: a larger number names no version that can
# exist, and sending it to PostgreSQL would fail the query (a 500) instead of the match.
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Precondition:
    """What `If-Match` asked for: any current version (`*`), or one of `versions`.

    An empty set matches nothing: a header we cannot read, or one naming only weak
    tags (strong comparison never matches them), must fail rather than be ignored.
    """

    any_version: bool
    versions: frozenset[int]

    def allows(self, version: int) -> bool:
        return self.any_version or version in self.versions


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str) -> Precondition:
    if value.strip() == "*":
        return Precondition(any_version=True, versions=frozenset())
    versions: set[int] = set()
    for part in value.split(","):
        match = _ENTITY_TAG.fullmatch(part)
        if match is None or match.group(1) or not _VERSION.fullmatch(match.group(2)):
            continue
        if (version := int(match.group(2))) <= MAX_VERSION:
            versions.add(version)
    return Precondition(any_version=False, versions=frozenset(versions))
