"""sessions: index (user_id, id) for the keyset pages of GET /auth/sessions

Revision ID: 2026_12_01_mail
Revises: 0001
Create Date: 2026-12-01 17:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "2026_12_01_mail"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The wider index still serves every lookup by user_id alone (it is its prefix).
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user_id_id", ["user_id", "id"], unique=False)
        batch_op.drop_index("ix_sessions_user_id")


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)
        batch_op.drop_index("ix_sessions_user_id_id")
