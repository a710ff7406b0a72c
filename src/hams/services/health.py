"""Whether this process can serve: the database answers, its schema is current, and what
serves each public speech-to-text model (a fallback is reported, not a reason to be unready)."""

from __future__ import annotations

from dataclasses import dataclass

from hams.db.migrate import is_current
from hams.db.session import Database
from hams.engines.models import ModelStatus, SttModels
from hams.settings import PUBLIC_STT_MODELS, Settings


@dataclass(frozen=True)
class Readiness:
    database: bool
    schema_current: bool
    stt: dict[str, ModelStatus]  # per public model name

    @property
    def ready(self) -> bool:
        return self.database and self.schema_current


def readiness(db: Database, *, settings: Settings, models: SttModels) -> Readiness:
    database = db.ping()
    return Readiness(database, database and is_current(db),
                     {public: models.status(settings.engine_model_for(public))
                      for public in PUBLIC_STT_MODELS})
