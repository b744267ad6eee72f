"""Products of an organization: validated CRUD with optimistic concurrency.

Every write is one conditional statement (`… WHERE id = ? AND version = ?`), so of two
requests that read the same version only one can change the row: the database, not
a read-then-write in Python, decides the winner.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.db import utcnow
from tenantry.organizations.access import OrgAccess
from tenantry.pagination import Page, PageParams, paginate
from tenantry.products.conditions import Precondition
from tenantry.products.exceptions import ProductNotFound, SkuTaken, VersionConflict
from tenantry.products.models import Product
from tenantry.products.schemas import ProductCreate, ProductRead, ProductUpdate
from tenantry.request_context import RequestContext

MAX_QUERY_LENGTH = 200


def _like_pattern(text: str) -> str:
    """`%text%` with the caller's `%`, `_` and `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _sku_used(
    db: AsyncSession, *, organization_id: uuid.UUID, sku: str, except_id: uuid.UUID | None = None
) -> bool:
    statement = select(Product.id).where(
        Product.organization_id == organization_id, Product.sku == sku
    )
    if except_id is not None:
        statement = statement.where(Product.id != except_id)
    return await db.scalar(statement) is not None


async def get_product(
    db: AsyncSession, *, organization_id: uuid.UUID, product_id: uuid.UUID
) -> Product:
    product = await db.scalar(
        select(Product).where(Product.id == product_id, Product.organization_id == organization_id)
    )
    if product is None:
        raise ProductNotFound()
    return product


async def list_products(
    db: AsyncSession,
    *,
    organization_id: uuid.UUID,
    page: PageParams,
    q: str | None,
    is_active: bool | None,
) -> Page[ProductRead]:
    """Keyset pages in id order (uuid7: creation order), so rows added while a client
    walks the list never shift the pages it has not read yet."""
    statement = select(Product).where(Product.organization_id == organization_id)
    if is_active is not None:
        statement = statement.where(Product.is_active == is_active)
    if q:
        # ILIKE is served by the trigram indexes on PostgreSQL; SQLite's LIKE
        # already ignores ASCII case.
        pattern = _like_pattern(q)
        statement = statement.where(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.sku.ilike(pattern, escape="\\"),
            )
        )
    return await paginate(
        db, statement, key=Product.id, page=page, render=ProductRead.model_validate
    )


async def create_product(
    db: AsyncSession, *, access: OrgAccess, body: ProductCreate, context: RequestContext
) -> Product:
    organization_id = access.organization.id
    if body.sku is not None and await _sku_used(db, organization_id=organization_id, sku=body.sku):
        raise SkuTaken()
    product = Product(
        organization_id=organization_id, created_by=access.user.id, **body.model_dump()
    )
    db.add(product)
    try:
        await db.flush()
        access.record(
            db,
            "product.created",
            context=context,
            target_type="product",
            target_id=product.id,
            details={"name": product.name, "sku": product.sku},
        )
        await db.commit()
    except IntegrityError:
        # A concurrent request took the SKU between our check and our insert.
        await db.rollback()
        raise SkuTaken() from None
    return product


async def _explain_miss(
    db: AsyncSession, *, organization_id: uuid.UUID, product_id: uuid.UUID
) -> ProductNotFound | VersionConflict:
    """A conditional write matched nothing: the product is gone, or its version moved."""
    exists = await db.scalar(
        select(Product.id).where(
            Product.id == product_id, Product.organization_id == organization_id
        )
    )
    return VersionConflict() if exists is not None else ProductNotFound()


def _version_condition(precondition: Precondition | None) -> list[Any]:
    if precondition is None or precondition.any_version:
        return []
    return [Product.version.in_(sorted(precondition.versions))]


async def update_product(
    db: AsyncSession,
    *,
    access: OrgAccess,
    product_id: uuid.UUID,
    changes: ProductUpdate,
    precondition: Precondition | None,
    context: RequestContext,
) -> Product:
    organization_id = access.organization.id
    fields = changes.changes()
    if not fields:
        product = await get_product(db, organization_id=organization_id, product_id=product_id)
        if precondition is not None and not precondition.allows(product.version):
            raise VersionConflict()
        return product
    sku = fields.get("sku")
    if sku is not None and await _sku_used(
        db, organization_id=organization_id, sku=sku, except_id=product_id
    ):
        raise SkuTaken()
    statement = (
        update(Product)
        .where(
            Product.id == product_id,
            Product.organization_id == organization_id,
            *_version_condition(precondition),
        )
        .values(**fields, version=Product.version + 1, updated_at=utcnow())
        .returning(Product)
        .execution_options(populate_existing=True)
    )
    try:
        updated = (await db.scalars(statement)).one_or_none()
    except IntegrityError:
        await db.rollback()
        raise SkuTaken() from None
    if updated is None:
        raise await _explain_miss(db, organization_id=organization_id, product_id=product_id)
    product = updated
    access.record(
        db,
        "product.updated",
        context=context,
        target_type="product",
        target_id=product_id,
        details={"fields": sorted(fields), "version": product.version},
    )
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise SkuTaken() from None
    return product


async def delete_product(
    db: AsyncSession,
    *,
    access: OrgAccess,
    product_id: uuid.UUID,
    precondition: Precondition | None,
    context: RequestContext,
) -> None:
    organization_id = access.organization.id
    deleted = (
        await db.execute(
            delete(Product)
            .where(
                Product.id == product_id,
                Product.organization_id == organization_id,
                *_version_condition(precondition),
            )
            .returning(Product.name, Product.sku, Product.version)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if deleted is None:
        raise await _explain_miss(db, organization_id=organization_id, product_id=product_id)
    name, sku, version = deleted
    access.record(
        db,
        "product.deleted",
        context=context,
        target_type="product",
        target_id=product_id,
        details={"name": name, "sku": sku, "version": version},
    )
    await db.commit()
