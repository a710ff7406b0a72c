"""Usage records: realtime calls (audio seconds, characters) per project and key.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from hams.db.models import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(36),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("api_key_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_usage_records_project_created", "usage_records",
                    ["project_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_usage_records_project_created", table_name="usage_records")
    op.drop_table("usage_records")
