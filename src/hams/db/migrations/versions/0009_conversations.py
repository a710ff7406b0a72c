"""Voice-agent conversations: the live side of a VOICE_AGENTS job and its log.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from hams.db.models import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _times() -> list[sa.Column]:
    return [sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.Column("updated_at", UtcDateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("project_id", sa.String(36),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("voice_agent_id", sa.String(36)),
        sa.Column("agent_name", sa.String(300)),
        sa.Column("channel_type", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("client_tools", sa.JSON(), nullable=False),
        sa.Column("voice_enablement", sa.Boolean(), nullable=False),
        sa.Column("call_params", sa.JSON(), nullable=False),
        sa.Column("host", sa.String(200)),
        sa.Column("alive_until", UtcDateTime()),
        sa.Column("connected_at", UtcDateTime()),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("end_reason", sa.Text()),
        sa.Column("terminate_requested_at", UtcDateTime()),
        sa.Column("call_duration", sa.Float()),
        sa.Column("transcript", sa.Text()),
        sa.Column("performance_metrics", sa.JSON()),
        sa.Column("call_analysis", sa.JSON()),
        sa.Column("usage", sa.JSON()),
        *_times(),
    )
    op.create_index("ix_conversations_project_created", "conversations",
                    ["project_id", "created_at"])
    op.create_index("ix_conversations_host", "conversations", ["host"])
    op.create_table(
        "conversation_logs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("role", sa.String(20)),
        sa.Column("text", sa.Text()),
        sa.Column("started_at", UtcDateTime()),
        sa.Column("ended_at", UtcDateTime()),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        *_times(),
        sa.UniqueConstraint("job_id", "seq", name="uq_conversation_logs_job_seq"),
    )


def downgrade() -> None:
    op.drop_table("conversation_logs")
    op.drop_index("ix_conversations_host", table_name="conversations")
    op.drop_index("ix_conversations_project_created", table_name="conversations")
    op.drop_table("conversations")
