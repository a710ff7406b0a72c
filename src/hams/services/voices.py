"""The voice catalog: listing voices and resolving a speaker (uuid or name) within a dialect."""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hams.db.models import Voice
from hams.errors import BadRequest
from hams.text.dictionary import ARABIC_LETTER

DIALECTS = {
    "pls": "Palestinian", "egy": "Egyptian", "syr": "Syrian", "irq": "Iraqi",
    "jor": "Jordanian", "leb": "Lebanese", "ksa": "Saudi", "uae": "Emirati",
    "bah": "Bahraini", "qat": "Qatari", "kuw": "Kuwaiti", "oma": "Omani",
    "msa": "Modern Standard Arabic", "ar-sa": "Arabic (Gulf)", "en": "English",
}
# What real clients send besides the 15 codes: the LiveKit plugin's "modern", language codes.
DIALECT_ALIASES = {"modern": "msa", "fusha": "msa", "ar": "msa", "standard": "msa",
                   "en-us": "en", "english": "en"}
UUID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)


def normalize_dialect(dialect: str | None) -> str | None:
    """A Hamsa dialect code, or a 400 naming the accepted codes."""
    if dialect is None or dialect == "":
        return None
    code = dialect.strip().lower()
    code = DIALECT_ALIASES.get(code, code)
    if code not in DIALECTS:
        raise BadRequest(f"Unsupported dialect {dialect!r}; use one of {', '.join(DIALECTS)}",
                         message_key="UNSUPPORTED_DIALECT")
    return code


def is_arabic(text: str) -> bool:
    """Whether most letters of ``text`` (at least 30%) are Arabic: picks an Arabic voice for
    OpenAI speech, and a transcript's language for AI content."""
    letters = [c for c in text if c.isalpha()]
    arabic = sum(bool(ARABIC_LETTER.match(c)) for c in letters)
    return bool(letters) and arabic / len(letters) >= 0.3


def list_voices(session: Session, *, offset: int, limit: int, query: str | None = None,
                dialect: str | None = None) -> tuple[list[Voice], int]:
    """One page of the catalog, dialect by dialect, and the count matching the filters."""
    statement = select(Voice)
    if query:
        pattern = f"%{query.strip()}%"
        statement = statement.where(or_(Voice.name.ilike(pattern), Voice.dialect.ilike(pattern)))
    if dialect:
        statement = statement.where(Voice.dialect == normalize_dialect(dialect))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(Voice.dialect, Voice.name)
                           .offset(offset).limit(limit)).all()
    return list(rows), total


def resolve_voice(session: Session, speaker: str | None, dialect: str | None = None) -> Voice:
    """The voice named by a uuid, or by a name: preferably within ``dialect``."""
    if not speaker or not speaker.strip():
        raise BadRequest("A voice is required (speaker or voiceId)", message_key="UNKNOWN_VOICE")
    speaker = speaker.strip()
    code = normalize_dialect(dialect)
    if UUID.match(speaker):
        voice = session.get(Voice, speaker.lower())
        if voice is None:
            raise BadRequest(f"No voice with id {speaker!r}", message_key="UNKNOWN_VOICE")
        return voice
    matches = session.scalars(select(Voice).where(func.lower(Voice.name) == speaker.lower())
                              ).all()
    in_dialect = [v for v in matches if code is None or v.dialect == code]
    if in_dialect or matches:
        # a known name from another dialect is served as asked, as Hamsa does (clients that
        # must be exact send the voice uuid); the response names the voice used
        return (in_dialect or matches)[0]
    raise BadRequest(f"Unknown voice {speaker!r}; GET /v1/tts/voices lists them",
                     message_key="UNKNOWN_VOICE")


def voice_for_dialect(session: Session, dialect: str | None) -> Voice:
    """The first documented voice of a dialect, for requests that name no speaker."""
    code = normalize_dialect(dialect)
    if code is None:
        raise BadRequest("speaker (or at least dialect) is required", message_key="UNKNOWN_VOICE")
    voice = session.scalars(select(Voice).where(Voice.dialect == code).order_by(
        Voice.created_at, Voice.name)).first()
    if voice is None:
        raise BadRequest(f"No voice for dialect {code!r}", message_key="UNKNOWN_VOICE")
    return voice
