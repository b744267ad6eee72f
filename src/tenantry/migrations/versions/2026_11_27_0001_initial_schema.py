"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 01:32:33.203305
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenantry.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_actor_user_id_id", ["actor_user_id", "id"], unique=False
        )
        batch_op.create_index("ix_audit_events_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index(
            "ix_audit_events_organization_id_action_id",
            ["organization_id", "action", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_audit_events_organization_id_id", ["organization_id", "id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("email_verified_at", tenantry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failed_login_count", sa.Integer(), nullable=False),
        sa.Column("created_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "one_time_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", tenantry.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_one_time_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_one_time_tokens_token_hash")),
    )
    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_one_time_tokens_user_id_purpose", ["user_id", "purpose"], unique=False
        )

    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_organizations_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", tenantry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=50), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("refresh_counter", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)

    op.create_table(
        "products",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_products_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_products_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("organization_id", "sku", name=op.f("uq_products_organization_id_sku")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Trigram indexes serve `?q=` substring search; pg_trgm ships with PostgreSQL.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            "ix_products_organization_id_id", ["organization_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_products_organization_id_is_active_id",
            ["organization_id", "is_active", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_products_name_trgm",
            ["name"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )
        batch_op.create_index(
            "ix_products_sku_trgm",
            ["sku"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"sku": "gin_trgm_ops"},
        )

    op.create_table(
        "roles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_roles_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("organization_id", "name", name=op.f("uq_roles_organization_id_name")),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", tenantry.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", tenantry.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invitations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_invitations_role_id_roles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.create_index("ix_invitations_organization_id", ["organization_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tenantry.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_memberships_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_memberships_role_id_roles"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "organization_id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index("ix_memberships_organization_id", ["organization_id"], unique=False)
        batch_op.create_index("ix_memberships_role_id", ["role_id"], unique=False)

    # Built-in roles, written out literally: a migration must not change with later code.
    roles = sa.table(
        "roles",
        sa.column("id", sa.Uuid()),
        sa.column("organization_id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("description", sa.String()),
        sa.column("permissions", sa.JSON()),
    )
    everything = [
        "org:read",
        "org:update",
        "org:delete",
        "members:read",
        "members:manage",
        "roles:manage",
        "products:read",
        "products:write",
        "products:delete",
        "audit:read",
    ]
    op.bulk_insert(
        roles,
        [
            {
                "id": uuid.UUID("00000000-0000-7000-8000-000000000001"),
                "organization_id": None,
                "name": "owner",
                "description": "Everything, including deleting the organization.",
                "permissions": everything,
            },
            {
                "id": uuid.UUID("00000000-0000-7000-8000-000000000002"),
                "organization_id": None,
                "name": "admin",
                "description": "Everything but deleting the organization; cannot grant or remove the owner role.",
                "permissions": [p for p in everything if p != "org:delete"],
            },
            {
                "id": uuid.UUID("00000000-0000-7000-8000-000000000003"),
                "organization_id": None,
                "name": "member",
                "description": "Reads the organization and its members; reads and writes products.",
                "permissions": ["org:read", "members:read", "products:read", "products:write"],
            },
            {
                "id": uuid.UUID("00000000-0000-7000-8000-000000000004"),
                "organization_id": None,
                "name": "viewer",
                "description": "Reads the organization, its members and its products.",
                "permissions": ["org:read", "members:read", "products:read"],
            },
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_memberships_role_id")
        batch_op.drop_index("ix_memberships_organization_id")

    op.drop_table("memberships")
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_invitations_organization_id")

    op.drop_table("invitations")
    op.drop_table("roles")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_sku_trgm")
        batch_op.drop_index("ix_products_name_trgm")
        batch_op.drop_index("ix_products_organization_id_is_active_id")
        batch_op.drop_index("ix_products_organization_id_id")

    op.drop_table("products")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id")

    op.drop_table("sessions")
    op.drop_table("organizations")
    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_one_time_tokens_user_id_purpose")

    op.drop_table("one_time_tokens")
    op.drop_table("users")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_organization_id_id")
        batch_op.drop_index("ix_audit_events_organization_id_action_id")
        batch_op.drop_index("ix_audit_events_occurred_at")
        batch_op.drop_index("ix_audit_events_actor_user_id_id")

    op.drop_table("audit_events")
