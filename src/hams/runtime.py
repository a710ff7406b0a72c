"""The per-process parts every entry point needs, built once from the settings."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from hams.db.migrate import upgrade
from hams.db.models import ServerState
from hams.db.session import Database
from hams.engines.models import SttModels
from hams.engines.pool import InferencePool
from hams.engines.text import ContentEngine
from hams.engines.text.extractive import ExtractiveEngine
from hams.engines.text.llm import LlmEngine
from hams.engines.voices import TtsEngines
from hams.ratelimit import RateLimiter
from hams.sealing import SecretBox
from hams.settings import Settings
from hams.storage import BlobStorage, storage_from_settings

if TYPE_CHECKING:
    from hams.engines.knowledge import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnowledgeEmbedder:
    """The knowledge base's sentence encoder, loaded once per process on first use; None
    when HAMS_KB_EMBEDDINGS is off or the offline extra is not installed (BM25 only)."""

    enabled: bool

    def get(self) -> Embedder | None:
        from hams.engines.knowledge import load_embedder  # bm25s, pypdf...: only when used

        return load_embedder() if self.enabled else None


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: BlobStorage
    models: SttModels
    secret_key: str
    tts: TtsEngines
    content: ContentEngine
    realtime: InferencePool  # realtime speech-to-text, REST and WebSocket alike
    rate_limiter: RateLimiter
    secrets: SecretBox  # agents', tools' and numbers' secrets at rest, keyed from secret_key
    embedder: KnowledgeEmbedder = KnowledgeEmbedder(enabled=False)
    instance_name: str = ""  # this process among replicas (HAMS_INSTANCE_ID)
    conversations: Any = None  # hams.agents.session.ConversationHost, made by the app

    def __post_init__(self) -> None:
        if not self.instance_name:
            self.instance_name = (self.settings.instance_id
                                  or f"{socket.gethostname()}:{os.getpid()}")


def build_runtime(settings: Settings, *, migrate: bool = True, num_workers: int = 1) -> Runtime:
    """Connect, migrate and prepare storage and model holders (models load lazily)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = storage_from_settings(settings, settings.data_dir)  # a bad store stops us first
    db = Database(settings.resolved_database_url)
    if migrate:
        before, after = upgrade(db)
        if before != after:  # one line instead of Alembic's, which the CLI quiets
            log.info("database schema migrated from %s to %s", before or "nothing", after)
    key = settings.secret_key.get_secret_value() if settings.secret_key else _shared_secret(db)
    models = SttModels(settings, max(num_workers, settings.realtime_pool_size))
    realtime = InferencePool(settings.realtime_pool_size, settings.realtime_queue_size,
                             settings.realtime_retry_after_seconds)
    return Runtime(settings, db, storage, models, key, TtsEngines(settings),
                   content_engine(settings), realtime, RateLimiter.from_settings(settings, db),
                   SecretBox(key), KnowledgeEmbedder(settings.kb_embeddings))


def content_engine(settings: Settings) -> ContentEngine:
    """The LLM engine when an endpoint is configured, else the extractive one (no model)."""
    if settings.llm_base_url:
        return LlmEngine.from_settings(settings)
    return ExtractiveEngine()


def _shared_secret(db: Database) -> str:
    """A signing key kept in the database, so every replica signs and checks the same links."""
    with db.session() as session:
        row = session.get(ServerState, "secret_key")
        if row is not None:
            return row.value
    try:
        with db.session() as session:
            session.add(ServerState(key="secret_key", value=secrets.token_hex(32)))
    except IntegrityError:
        pass
    with db.session() as session:
        return session.get(ServerState, "secret_key").value
