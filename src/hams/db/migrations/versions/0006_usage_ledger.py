"""Usage ledger: usage_records also holds finished jobs (job_id, unique with kind), tokens,
the priced quantity and unit, and the cost; jobs finished before the upgrade are backfilled so
statistics cover history.

Revision ID: 0006
Revises: 0005
"""

import uuid

import sqlalchemy as sa
from alembic import op

from hams.db.models import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 500
KINDS = {"TRANSCRIPTION": "transcription", "TRANSLATION": "transcription", "TTS": "tts",
         "AI_CONTENT": "ai_content"}

# The tables as this revision knows them (the models may change later; this must not).
jobs = sa.table(
    "jobs", sa.column("id", sa.String), sa.column("project_id", sa.String),
    sa.column("api_key_id", sa.String), sa.column("type", sa.String),
    sa.column("model", sa.String), sa.column("state", sa.String),
    sa.column("usage_seconds", sa.Float), sa.column("usage_tokens", sa.Integer),
    sa.column("total_cost", sa.Float), sa.column("options", sa.JSON),
    sa.column("job_response", sa.JSON), sa.column("relevant_job_id", sa.String),
    sa.column("finished_at", UtcDateTime), sa.column("updated_at", UtcDateTime),
)
usage = sa.table(
    "usage_records", sa.column("id", sa.String), sa.column("project_id", sa.String),
    sa.column("api_key_id", sa.String), sa.column("job_id", sa.String),
    sa.column("kind", sa.String), sa.column("model", sa.String),
    sa.column("audio_seconds", sa.Float), sa.column("characters", sa.Integer),
    sa.column("tokens", sa.Integer), sa.column("quantity", sa.Float),
    sa.column("unit", sa.String), sa.column("cost", sa.Float),
    sa.column("created_at", UtcDateTime),
)


def upgrade() -> None:
    # plain ADD COLUMNs (with defaults for the rows already there): SQLite never copies the table
    op.add_column("usage_records", sa.Column("job_id", sa.String(36), nullable=True))
    op.add_column("usage_records", sa.Column("tokens", sa.Integer(), nullable=False,
                                             server_default="0"))
    op.add_column("usage_records", sa.Column("quantity", sa.Float(), nullable=False,
                                             server_default="0"))
    op.add_column("usage_records", sa.Column("unit", sa.String(20), nullable=False,
                                             server_default=""))
    op.add_column("usage_records", sa.Column("cost", sa.Float(), nullable=False,
                                             server_default="0"))
    op.create_index("uq_usage_records_job_kind", "usage_records", ["job_id", "kind"],
                    unique=True)
    op.execute(usage.update().where(usage.c.kind == "realtime_stt")
               .values(quantity=usage.c.audio_seconds, unit="seconds"))
    op.execute(usage.update().where(usage.c.kind != "realtime_stt")
               .values(quantity=usage.c.characters, unit="characters"))
    _backfill_jobs(op.get_bind())


def _backfill_jobs(conn: sa.Connection) -> None:
    """One ledger row per job that finished with usage before the ledger counted jobs."""
    billable = sa.or_(jobs.c.state == "completed", jobs.c.usage_tokens > 0)
    last = ""
    while True:
        rows = conn.execute(
            sa.select(jobs).where(billable, jobs.c.type.in_(KINDS), jobs.c.id > last)
            .order_by(jobs.c.id).limit(BATCH)).mappings().all()
        if not rows:
            return
        last = rows[-1]["id"]
        sources = _transcript_lengths(conn, {r["relevant_job_id"] for r in rows
                                             if r["type"] == "AI_CONTENT"})
        conn.execute(usage.insert(), [_ledger_row(r, sources) for r in rows])


def _transcript_lengths(conn: sa.Connection, ids: set) -> dict[str, int]:
    ids.discard(None)
    if not ids:
        return {}
    found = conn.execute(sa.select(jobs.c.id, jobs.c.job_response).where(jobs.c.id.in_(ids)))
    return {i: len(str((r or {}).get("text") or "").strip()) for i, r in found}


def _ledger_row(job: dict, sources: dict[str, int]) -> dict:
    kind = KINDS[job["type"]]
    seconds = job["usage_seconds"] or 0.0
    tokens = job["usage_tokens"] or 0
    if kind == "transcription":
        characters = len(str((job["job_response"] or {}).get("text") or ""))
        quantity, unit = seconds, "seconds"
    elif kind == "tts":
        characters = len(str((job["options"] or {}).get("text") or ""))
        quantity, unit = characters, "characters"
    else:
        characters = sources.get(job["relevant_job_id"], 0)
        quantity, unit = (tokens, "tokens") if tokens else (characters, "characters")
    completed = job["state"] == "completed"
    return {"id": str(uuid.uuid4()), "project_id": job["project_id"],
            "api_key_id": job["api_key_id"], "job_id": job["id"], "kind": kind,
            "model": job["model"], "audio_seconds": seconds, "characters": characters,
            "tokens": tokens, "quantity": quantity, "unit": unit,
            "cost": (job["total_cost"] or 0.0) if completed else 0.0,
            "created_at": job["finished_at"] or job["updated_at"]}


def downgrade() -> None:
    op.execute(usage.delete().where(usage.c.job_id.is_not(None)))
    op.drop_index("uq_usage_records_job_kind", table_name="usage_records")
    with op.batch_alter_table("usage_records") as batch:
        for column in ("cost", "unit", "quantity", "tokens", "job_id"):
            batch.drop_column(column)
