"""Usage records for billable calls that are not jobs (realtime speech), per project and key."""

from __future__ import annotations

from hams.db.models import UsageRecord
from hams.db.session import Database
from hams.services.keys import Principal


def record_usage(db: Database, principal: Principal, *, kind: str, model: str | None,
                 audio_seconds: float = 0.0, characters: int = 0) -> None:
    """Write one record in its own short transaction, after the work it accounts for."""
    with db.session() as session:
        session.add(UsageRecord(project_id=principal.project_id, api_key_id=principal.api_key_id,
                                kind=kind, model=model, audio_seconds=round(audio_seconds, 3),
                                characters=characters))
