"""An index on jobs (project_id, state): a project's unfinished jobs without reading its history.

The quota check sums the text of a project's queued and running TTS jobs, and the fair claim
counts each project's running jobs; both filter on these two columns.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_project_state", "jobs", ["project_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_jobs_project_state", table_name="jobs")
