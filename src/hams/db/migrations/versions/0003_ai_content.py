"""AI content: token usage on jobs, and a lookup of the jobs that follow another job.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite supports it, so the table is never copied and dropped (a
    # DROP TABLE jobs would cascade into webhook deliveries).
    op.add_column("jobs", sa.Column("usage_tokens", sa.Integer(), nullable=True))
    op.create_index("ix_jobs_relevant_job", "jobs", ["relevant_job_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_relevant_job", table_name="jobs")
    # recreate="never": a plain DROP COLUMN (SQLite >= 3.35); copying the table would
    # cascade deletes into every table that references it
    with op.batch_alter_table("jobs", recreate="never") as batch:
        batch.drop_column("usage_tokens")
