"""sessions.auth_time, amr, acr: how a session was authenticated (DESIGN.md §10)

Revision ID: 2026_12_01_session_amr
Revises: 2026_12_01_mfa
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tenantry.db

revision: str = "2026_12_01_session_amr"
down_revision: str | None = "2026_12_01_mfa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_time", tenantry.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("amr", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("acr", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("acr")
        batch_op.drop_column("amr")
        batch_op.drop_column("auth_time")
