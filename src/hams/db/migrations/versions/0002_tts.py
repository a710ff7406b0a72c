"""Text to speech: voice catalog (seeded), pronunciation dictionaries, TTS histories.

Revision ID: 0002
Revises: 0001
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from hams.db.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Hamsa's 15 dialect codes and their documented speakers (female/male), spec 0.6.
DIALECT_SPEAKERS = {
    "pls": [("Layan", "female"), ("Amjad", "male")],
    "egy": [("Mariam", "female"), ("Samir", "male")],
    "syr": [("Dalal", "female"), ("Mais", "female")],
    "irq": [("Lyali", "female"), ("Fatma", "female")],
    "jor": [("Lana", "female"), ("Jasem", "male")],
    "leb": [("Carla", "female"), ("Majd", "male")],
    "ksa": [("Hiba", "female"), ("Fahd", "male")],
    "uae": [("Salma", "female"), ("Dima", "female")],
    "bah": [("Ruba", "female"), ("Mazen", "male")],
    "qat": [("Deema", "female"), ("Faisal", "male")],
    "kuw": [("Mai", "female"), ("Hatem", "male")],
    "oma": [("Aisha", "female"), ("Jaber", "male")],
    "msa": [("Salem", "male"), ("Tamim", "male")],
    "ar-sa": [("Rahma", "female"), ("Khalid", "male")],
    "en": [("Emma", "female"), ("James", "male")],
}
# Names of the older 38-speaker enum that no dialect above lists: served as Fusha (msa).
LEGACY_SPEAKERS = [
    ("Nada", "female"), ("Ali", "male"), ("Khadija", "female"), ("Talin", "female"),
    ("Ahmed", "male"), ("Rema", "female"), ("Rami", "male"), ("Sarah", "female"),
    ("Faiza", "female"), ("Hamdan", "male"), ("Alia", "female"), ("Maher", "male"),
    ("Noor", "female"), ("Majid", "male"), ("Mansour", "male"), ("Hind", "female"),
    ("Hasan", "male"), ("Safa", "female"), ("Somaya", "female"), ("Sayed", "male"),
]


def _rows() -> list[dict]:
    """One row per (dialect, speaker), each on its own espeak-ng variant so voices differ."""
    now = datetime.now(UTC).replace(tzinfo=None)
    counters = {"female": 0, "male": 0}
    rows = []
    entries = [(d, n, g, "standard") for d, pairs in DIALECT_SPEAKERS.items() for n, g in pairs]
    entries += [("msa", n, g, "legacy") for n, g in LEGACY_SPEAKERS]
    for dialect, name, gender, style in entries:
        variants = 5 if gender == "female" else 7
        counters[gender] += 1
        variant = f"{'f' if gender == 'female' else 'm'}{(counters[gender] - 1) % variants + 1}"
        language = "en" if dialect == "en" else "ar"
        rows.append({
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"hams:voice:{dialect}:{name}")),
            "name": name, "language": language, "dialect": dialect,
            "tags": [gender, style], "engine": "espeak",
            "engine_voice": f"{'en-us' if language == 'en' else 'ar'}+{variant}",
            "created_at": now,
        })
    return rows


def upgrade() -> None:
    voices = op.create_table(
        "voices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("dialect", sa.String(length=10), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("engine_voice", sa.String(length=300), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dialect", "name", name="uq_voices_dialect_name"),
    )
    op.create_index("ix_voices_name", "voices", ["name"])
    op.create_table(
        "voice_dictionaries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tts_histories",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("api_key_id", sa.String(length=36), nullable=True),
        sa.Column("voice_id", sa.String(length=36), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("media_key", sa.String(length=300), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tts_histories_project_created", "tts_histories",
                    ["project_id", "created_at"])
    op.bulk_insert(voices, _rows())


def downgrade() -> None:
    op.drop_index("ix_tts_histories_project_created", table_name="tts_histories")
    op.drop_table("tts_histories")
    op.drop_table("voice_dictionaries")
    op.drop_index("ix_voices_name", table_name="voices")
    op.drop_table("voices")
