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
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("usage_tokens", sa.Integer(), nullable=True))
    op.create_index("ix_jobs_relevant_job", "jobs", ["relevant_job_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_relevant_job", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("usage_tokens")
