"""Usage records for billable calls that are not jobs (realtime speech), per project and key."""

from __future__ import annotations

import asyncio
import logging

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


def record_later(db: Database, principal: Principal, **values) -> None:
    """Record usage from async code that may be cancelled (a client gone mid-stream): the
    write runs on a thread and nobody waits for it."""
    def write() -> None:
        try:
            record_usage(db, principal, **values)
        except Exception:  # noqa: BLE001 - usage must never break the request it counts
            logging.getLogger(__name__).exception("could not record usage")

    asyncio.get_running_loop().run_in_executor(None, write)
