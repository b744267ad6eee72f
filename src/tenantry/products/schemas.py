from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from tenantry.identity.schemas import StrictBody, omittable
from tenantry.products.currencies import ACTIVE_CURRENCIES
from tenantry.text import MultiLine, SingleLine

# Keeps every price far inside a 64-bit integer on every backend.
MAX_PRICE_CENTS = 10**15


def _known_currency(value: str) -> str:
    if value not in ACTIVE_CURRENCIES:
        raise ValueError("not an ISO 4217 code of a currency in circulation")
    return value


ProductName = Annotated[str, SingleLine(max_length=200)]
Description = Annotated[str, MultiLine(max_length=10_000)]
Sku = Annotated[str, SingleLine(max_length=64)]


def _integral_number(value: object) -> object:
    # JSON has one number type: 1500.0 is the integer 1500. Strings and booleans
    # still fail the strict check below.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The validator wraps the constraints (metadata applies left to right), so they are
# still documented as `minimum` and `maximum`.
PriceCents = Annotated[
    int, Field(strict=True, ge=0, le=MAX_PRICE_CENTS), BeforeValidator(_integral_number)
]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
    Field(json_schema_extra={"enum": sorted(ACTIVE_CURRENCIES)}),
]


class ProductCreate(StrictBody):
    name: ProductName
    description: Description | None = None
    sku: Sku | None = None
    price_cents: PriceCents
    currency: Currency
    is_active: StrictBool = True


class ProductUpdate(StrictBody):
    """Only the fields sent change; `description` and `sku` may be cleared with null."""

    name: ProductName | SkipJsonSchema[None] = omittable()
    description: Description | None = None
    sku: Sku | None = None
    price_cents: PriceCents | SkipJsonSchema[None] = omittable()
    currency: Currency | SkipJsonSchema[None] = omittable()
    is_active: StrictBool | SkipJsonSchema[None] = omittable()

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> ProductUpdate:
        for field in ("name", "price_cents", "currency", "is_active"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    description: str | None
    sku: str | None
    price_cents: int
    currency: str
    is_active: bool
    version: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
