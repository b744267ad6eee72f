"""The product domain's errors, each with a stable `code` (DESIGN.md §5)."""

from __future__ import annotations

from tenantry.errors import Conflict, NotFound, ProblemError


class ProductNotFound(NotFound):
    title = "Product not found"


class SkuTaken(Conflict):
    code = "sku_taken"
    title = "SKU already used in this organization"


class VersionConflict(ProblemError):
    """`If-Match` named a version that is no longer current (RFC 9110 §13.1.1)."""

    status = 412
    code = "version_conflict"
    title = "The product changed since you read it"
