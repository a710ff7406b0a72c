"""Limits: per-key rate-limit counters, and optional monthly quotas per project.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("api_key_id", sa.String(36), primary_key=True),
        sa.Column("route_class", sa.String(40), primary_key=True),
        sa.Column("window_start", sa.BigInteger(), primary_key=True),  # epoch seconds
        sa.Column("count", sa.Integer(), nullable=False),
    )
    # plain ADD COLUMNs: SQLite never copies (and cascades out of) the projects table
    op.add_column("projects", sa.Column("quota_audio_seconds", sa.Float(), nullable=True))
    op.add_column("projects", sa.Column("quota_tts_characters", sa.Integer(), nullable=True))
    op.add_column("projects", sa.Column("quota_tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    # recreate="never": a plain DROP COLUMN (SQLite >= 3.35); copying the table would
    # cascade deletes into every table that references it
    with op.batch_alter_table("projects", recreate="never") as batch:
        batch.drop_column("quota_tokens")
        batch.drop_column("quota_tts_characters")
        batch.drop_column("quota_audio_seconds")
    op.drop_table("rate_limit_counters")
