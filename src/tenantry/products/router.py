"""Products of an organization (DESIGN.md §5): `ETag` on reads, `If-Match` on writes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from tenantry.db import DbSession
from tenantry.openapi import problems
from tenantry.organizations.access import OrgAccess
from tenantry.organizations.dependencies import requires
from tenantry.organizations.permissions import Permission
from tenantry.pagination import Page, PageParams, page_params
from tenantry.products import service
from tenantry.products.conditions import etag
from tenantry.products.dependencies import IfMatch
from tenantry.products.schemas import ProductCreate, ProductRead, ProductUpdate
from tenantry.request_context import Context
from tenantry.text import SingleLine

router = APIRouter(
    prefix="/organizations/{org_id}/products",
    tags=["products"],
    responses=problems(401, 403, 404),
)


@router.get("", responses=problems(400, 422))
async def list_products(
    access: Annotated[OrgAccess, requires(Permission.products_read)],
    db: DbSession,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        Annotated[str, SingleLine(max_length=service.MAX_QUERY_LENGTH, min_length=0)] | None,
        Query(description="Part of the name or SKU."),
    ] = None,
    is_active: bool | None = None,
) -> Page[ProductRead]:
    return await service.list_products(
        db, organization_id=access.organization.id, page=page, q=q, is_active=is_active
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems(409, 422))
async def create_product(
    body: ProductCreate,
    access: Annotated[OrgAccess, requires(Permission.products_write)],
    db: DbSession,
    context: Context,
    response: Response,
) -> ProductRead:
    product = await service.create_product(db, access=access, body=body, context=context)
    response.headers["ETag"] = etag(product.version)
    return ProductRead.model_validate(product)


@router.get("/{product_id}")
async def read_product(
    product_id: uuid.UUID,
    access: Annotated[OrgAccess, requires(Permission.products_read)],
    db: DbSession,
    response: Response,
) -> ProductRead:
    """The product; its `ETag` is the version to send back in `If-Match`."""
    product = await service.get_product(
        db, organization_id=access.organization.id, product_id=product_id
    )
    response.headers["ETag"] = etag(product.version)
    return ProductRead.model_validate(product)


@router.patch("/{product_id}", responses=problems(409, 412, 422))
async def update_product(
    product_id: uuid.UUID,
    body: ProductUpdate,
    access: Annotated[OrgAccess, requires(Permission.products_write)],
    db: DbSession,
    if_match: IfMatch,
    context: Context,
    response: Response,
) -> ProductRead:
    """Change the fields sent. With `If-Match`, a stale version is `412` and changes nothing."""
    product = await service.update_product(
        db,
        access=access,
        product_id=product_id,
        changes=body,
        precondition=if_match,
        context=context,
    )
    response.headers["ETag"] = etag(product.version)
    return ProductRead.model_validate(product)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(412))
async def delete_product(
    product_id: uuid.UUID,
    access: Annotated[OrgAccess, requires(Permission.products_delete)],
    db: DbSession,
    if_match: IfMatch,
    context: Context,
) -> None:
    await service.delete_product(
        db, access=access, product_id=product_id, precondition=if_match, context=context
    )
