"""Voice agents: agents, web tools (versioned), knowledge-base items and their chunks, phone
numbers, and the links between agents and the tools and items they use.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from hams.db.models import EmbeddingVector, UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _project() -> sa.Column:
    return sa.Column("project_id", sa.String(36),
                     sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False)


def _times() -> list[sa.Column]:
    return [sa.Column("created_at", UtcDateTime(), nullable=False),
            sa.Column("updated_at", UtcDateTime(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "voice_agents",
        sa.Column("id", sa.String(36), primary_key=True),
        _project(),
        sa.Column("api_key_id", sa.String(36)),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("agent_type", sa.String(40), nullable=False),
        sa.Column("lang", sa.String(10), nullable=False),
        sa.Column("is_template", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("sealed_secrets", sa.Text()),
        *_times(),
    )
    op.create_index("ix_voice_agents_project_created", "voice_agents",
                    ["project_id", "created_at"])

    op.create_table(
        "web_tools",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("persistent_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _project(),
        sa.Column("api_key_id", sa.String(36)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("collection_id", sa.String(100)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_async", sa.Boolean(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON()),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("sealed_secrets", sa.Text()),
        *_times(),
        sa.UniqueConstraint("persistent_id", "version", name="uq_web_tools_persistent_version"),
    )
    op.create_index("ix_web_tools_project_created", "web_tools", ["project_id", "created_at"])

    op.create_table(
        "voice_agent_web_tools",
        sa.Column("agent_id", sa.String(36),
                  sa.ForeignKey("voice_agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("persistent_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.Integer()),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.String(100)),
        sa.Column("overrides", sa.JSON()),
    )
    op.create_index("ix_voice_agent_web_tools_persistent_id", "voice_agent_web_tools",
                    ["persistent_id"])

    op.create_table(
        "knowledge_items",
        sa.Column("id", sa.String(36), primary_key=True),
        _project(),
        sa.Column("api_key_id", sa.String(36)),
        sa.Column("item_name", sa.String(300), nullable=False),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("content", sa.Text()),
        sa.Column("item_url", sa.Text()),
        sa.Column("item_urls", sa.JSON(), nullable=False),
        sa.Column("storage_key", sa.String(300)),
        sa.Column("file_size", sa.BigInteger()),
        sa.Column("words_number", sa.Integer()),
        sa.Column("extension", sa.String(20)),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("job_id", sa.String(36)),
        *_times(),
    )
    op.create_index("ix_knowledge_items_project_created", "knowledge_items",
                    ["project_id", "created_at"])

    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(36),
                  sa.ForeignKey("knowledge_items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("embedding", EmbeddingVector()),
    )
    op.create_index("ix_knowledge_chunks_item_id", "knowledge_chunks", ["item_id"])
    op.create_index("ix_knowledge_chunks_project", "knowledge_chunks", ["project_id"])

    op.create_table(
        "voice_agent_knowledge_items",
        sa.Column("agent_id", sa.String(36),
                  sa.ForeignKey("voice_agents.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.String(36),
                  sa.ForeignKey("knowledge_items.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_voice_agent_knowledge_items_item_id", "voice_agent_knowledge_items",
                    ["item_id"])

    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.String(36), primary_key=True),
        _project(),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("label", sa.String(200)),
        sa.Column("type", sa.String(10), nullable=False),
        sa.Column("twilio_account_sid", sa.String(64)),
        sa.Column("twilio_number_sid", sa.String(64)),
        sa.Column("sip", sa.JSON()),
        sa.Column("sealed_secrets", sa.Text()),
        sa.Column("voice_agent_id", sa.String(36),
                  sa.ForeignKey("voice_agents.id", ondelete="SET NULL")),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_times(),
        sa.UniqueConstraint("project_id", "number", name="uq_phone_numbers_project_number"),
    )
    op.create_index("uq_phone_numbers_voice_agent", "phone_numbers", ["voice_agent_id"],
                    unique=True)


def downgrade() -> None:
    for table in ("phone_numbers", "voice_agent_knowledge_items", "knowledge_chunks",
                  "knowledge_items", "voice_agent_web_tools", "web_tools", "voice_agents"):
        op.drop_table(table)
