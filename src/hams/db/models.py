"""SQLAlchemy models: projects, API keys, jobs (also the queue), webhook deliveries, uploads,
and the voice-agent configuration (agents, web tools, knowledge base, phone numbers)."""

from __future__ import annotations

import uuid
from array import array
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A random UUID as a string: ids are opaque and unguessable."""
    return str(uuid.uuid4())


class UtcDateTime(TypeDecorator):
    """Stores naive UTC and hands back aware UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EmbeddingVector(TypeDecorator):
    """A float32 vector: a REAL[] column on PostgreSQL, a blob on SQLite. In Python it is the
    vector's little-endian float32 bytes on both, so readers never care which database it is.
    (pgvector is not required: retrieval ranks a project's chunks in the process.)"""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(REAL))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: bytes | None, dialect: Any) -> Any:
        if value is None or dialect.name != "postgresql":
            return value
        return array("f", value).tolist()

    def process_result_value(self, value: Any, dialect: Any) -> bytes | None:
        if value is None or dialect.name != "postgresql":
            return value
        return array("f", value).tobytes()


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(100))
    is_deactivated: Mapped[bool] = mapped_column(Boolean, default=False)
    # monthly quotas (UTC calendar month); None = unlimited
    quota_audio_seconds: Mapped[float | None] = mapped_column(Float)
    quota_tts_characters: Mapped[int | None] = mapped_column(Integer)
    quota_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Job(Base):
    """A Hamsa job and its queue entry: the API resource and the work item are one row."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "run_after"),
        Index("ix_jobs_project_created", "project_id", "created_at"),
        Index("ix_jobs_relevant_job", "relevant_job_id"),
        Index("ix_jobs_project_state", "project_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(30))
    title: Mapped[str | None] = mapped_column(String(500))
    model: Mapped[str | None] = mapped_column(String(100))
    system_model_key: Mapped[str | None] = mapped_column(String(100))
    processing_type: Mapped[str] = mapped_column(String(20), default="async")
    from_lng: Mapped[str | None] = mapped_column(String(20))
    to_lng: Mapped[str | None] = mapped_column(String(20))
    from_script: Mapped[str | None] = mapped_column(String(20))
    to_script: Mapped[str | None] = mapped_column(String(20))
    media_url: Mapped[str | None] = mapped_column(Text)
    media_key: Mapped[str | None] = mapped_column(String(300))
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_auth: Mapped[dict | None] = mapped_column(JSON)
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    job_response: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="PENDING")
    error: Mapped[str | None] = mapped_column(Text)
    total_cost: Mapped[float] = mapped_column(Float, default=0.0)
    usage_seconds: Mapped[float | None] = mapped_column(Float)
    usage_tokens: Mapped[int | None] = mapped_column(Integer)  # LLM tokens, when reported
    relevant_job_id: Mapped[str | None] = mapped_column(String(36))
    agent_details: Mapped[str | None] = mapped_column(Text)
    billing_id: Mapped[str | None] = mapped_column(String(36))
    voice_agent_id: Mapped[str | None] = mapped_column(String(36))
    tts_voice_id: Mapped[str | None] = mapped_column(String(36))

    state: Mapped[str] = mapped_column(String(20), default="queued")
    run_after: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fencing: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One webhook to send for a finished job; retried with backoff until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("project_id", "key", name="uq_idempotency_project_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(36))  # the job or upload it created
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ServerState(Base):
    """Small server-wide values every replica must share (the signing secret)."""

    __tablename__ = "server_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Upload(Base):
    """A file sent to POST /v1/media, usable as mediaUrl by the project that uploaded it."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Voice(Base):
    """A TTS voice in the catalog: a Hamsa speaker name within a dialect, served by an engine."""

    __tablename__ = "voices"
    __table_args__ = (UniqueConstraint("dialect", "name", name="uq_voices_dialect_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), index=True)  # ix_voices_name
    language: Mapped[str] = mapped_column(String(10))
    dialect: Mapped[str] = mapped_column(String(10))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    engine: Mapped[str] = mapped_column(String(20))
    engine_voice: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class VoiceDictionary(Base):
    """A project's pronunciation list, applied as whole-word replacements before synthesis."""

    __tablename__ = "voice_dictionaries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    words: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class TtsHistory(Base):
    """A stored synthesis made through POST /v2/tts/histories."""

    __tablename__ = "tts_histories"
    __table_args__ = (Index("ix_tts_histories_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
    voice_id: Mapped[str] = mapped_column(String(36))
    script: Mapped[str] = mapped_column(Text)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    media_key: Mapped[str] = mapped_column(String(300))
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UsageRecord(Base):
    """The usage ledger: one row per billable event (a finished job, a realtime call), the
    source of statistics and quotas. ``job_id`` is no foreign key: deleting a job keeps what
    it cost; unique with ``kind``, so a job is never counted twice."""

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_project_created", "project_id", "created_at"),
        Index("uq_usage_records_job_kind", "job_id", "kind", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
    job_id: Mapped[str | None] = mapped_column(String(36))
    # transcription, tts, ai_content (jobs); realtime_stt, realtime_tts, speech (calls)
    kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(100))
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    characters: Mapped[int] = mapped_column(Integer, default=0)
    tokens: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[float] = mapped_column(Float, default=0.0)  # what the cost is priced on
    unit: Mapped[str] = mapped_column(String(20), default="")  # seconds, characters, tokens
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RateLimitCounter(Base):
    """Requests one API key made in one window for one class of routes (fixed windows)."""

    __tablename__ = "rate_limit_counters"

    api_key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    route_class: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer, default=0)


class VoiceAgent(Base):
    """A voice agent: one record behind the flat v1 and the nested v2 wire shapes.

    ``config`` holds every documented field under its v1 (flat) name; the columns beside it
    are what lists filter and sort on. Secrets (the LLM key, the webhook secret) are only in
    ``sealed_secrets`` (hams.sealing), never in ``config``."""

    __tablename__ = "voice_agents"
    __table_args__ = (Index("ix_voice_agents_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(300))
    agent_type: Mapped[str] = mapped_column(String(40), default="Single Prompt")
    lang: Mapped[str] = mapped_column(String(10), default="ar")
    is_template: Mapped[bool] = mapped_column(Boolean, default=False)
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class WebTool(Base):
    """One version of a web tool (an HTTP function an agent may call). An update adds a row
    with the next ``version`` under the same ``persistent_id``; ``id`` names one version."""

    __tablename__ = "web_tools"
    __table_args__ = (
        UniqueConstraint("persistent_id", "version", name="uq_web_tools_persistent_version"),
        Index("ix_web_tools_project_created", "project_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    persistent_id: Mapped[str] = mapped_column(String(36), default=new_id)
    version: Mapped[int] = mapped_column(Integer, default=1)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(30), default="FUNCTION")
    description: Mapped[str | None] = mapped_column(Text)
    collection_id: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_async: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # toolSettings, minus authToken
    params: Mapped[dict | None] = mapped_column(JSON)  # a JSON schema of the arguments
    messages: Mapped[list] = mapped_column(JSON, default=list)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)  # authToken
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class VoiceAgentWebTool(Base):
    """A web tool an agent may call: a pinned version, or the latest when ``version`` is None."""

    __tablename__ = "voice_agent_web_tools"

    agent_id: Mapped[str] = mapped_column(
        ForeignKey("voice_agents.id", ondelete="CASCADE"), primary_key=True)
    persistent_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
    version: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    node_id: Mapped[str | None] = mapped_column(String(100))
    overrides: Mapped[dict | None] = mapped_column(JSON)


class KnowledgeItem(Base):
    """A knowledge-base item (TEXT, URL pages or an uploaded FILE), turned into chunks by a
    KNOWLEDGE_BASE job: status PROCESSING → PROCESSED | FAILED (with ``failure_reason``)."""

    __tablename__ = "knowledge_items"
    __table_args__ = (Index("ix_knowledge_items_project_created", "project_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column(String(36))
    item_name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="PROCESSING")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    item_url: Mapped[str | None] = mapped_column(Text)
    item_urls: Mapped[list] = mapped_column(JSON, default=list)
    storage_key: Mapped[str | None] = mapped_column(String(300))  # an uploaded file's blob
    file_size: Mapped[int | None] = mapped_column(BigInteger)  # bytes
    words_number: Mapped[int | None] = mapped_column(Integer)
    extension: Mapped[str | None] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class KnowledgeChunk(Base):
    """A retrievable piece of an item: its text, the text BM25 reads, and its embedding. In the
    database, so every API replica and worker searches the same index."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (Index("ix_knowledge_chunks_project", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(36))
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)  # the page URL or file it came from
    text: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)  # normalized for BM25
    embedding: Mapped[bytes | None] = mapped_column(EmbeddingVector)


class VoiceAgentKnowledgeItem(Base):
    """A knowledge-base item an agent searches (an item is ``used`` when it has a row here)."""

    __tablename__ = "voice_agent_knowledge_items"

    agent_id: Mapped[str] = mapped_column(
        ForeignKey("voice_agents.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(
        ForeignKey("knowledge_items.id", ondelete="CASCADE"), primary_key=True, index=True)


class PhoneNumber(Base):
    """A Twilio or SIP number of a project, assigned to at most one agent (and an agent to at
    most one number). Twilio's auth token and the SIP password are only in ``sealed_secrets``."""

    __tablename__ = "phone_numbers"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_phone_numbers_project_number"),
        Index("uq_phone_numbers_voice_agent", "voice_agent_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(40))
    label: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(10))  # TWILIO | SIP
    twilio_account_sid: Mapped[str | None] = mapped_column(String(64))
    twilio_number_sid: Mapped[str | None] = mapped_column(String(64))
    sip: Mapped[dict | None] = mapped_column(JSON)  # inbound/outbound configs, no password
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    voice_agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("voice_agents.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Conversation(Base):
    """A voice-agent conversation: the live side of its VOICE_AGENTS job (one row per job).

    The job row carries what every job has (status, agent snapshot, recording, cost); this
    row carries what only a call has. ``host`` names the process holding the socket and
    ``alive_until`` its lease, renewed while the call runs: a conversation whose lease ran out
    is failed by whichever process sweeps next, so nothing stays IN_PROGRESS forever.
    ``terminate_requested_at`` is how any replica asks the holder to end the call."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_project_created", "project_id", "created_at"),
                      Index("ix_conversations_host", "host"))

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"),
                                        primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    voice_agent_id: Mapped[str | None] = mapped_column(String(36))
    agent_name: Mapped[str | None] = mapped_column(String(300))
    channel_type: Mapped[str] = mapped_column(String(20), default="Web")
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # as sent at the start
    client_tools: Mapped[list] = mapped_column(JSON, default=list)  # the SDK's, LLM shape
    voice_enablement: Mapped[bool] = mapped_column(Boolean, default=False)
    call_params: Mapped[dict] = mapped_column(JSON, default=dict)
    host: Mapped[str | None] = mapped_column(String(200))
    alive_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    terminate_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    call_duration: Mapped[float | None] = mapped_column(Float)
    transcript: Mapped[str | None] = mapped_column(Text)
    performance_metrics: Mapped[dict | None] = mapped_column(JSON)
    call_analysis: Mapped[dict | None] = mapped_column(JSON)
    usage: Mapped[dict | None] = mapped_column(JSON)  # stt seconds, tts chars, llm tokens
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ConversationLog(Base):
    """One entry of a conversation's log, in order: a turn (user or agent, its text, start and
    end, interrupted or not), a tool call (arguments, result, duration) or an event."""

    __tablename__ = "conversation_logs"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_conversation_logs_job_seq"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # turn | tool | event
    role: Mapped[str | None] = mapped_column(String(20))  # user | agent | tool | system
    text: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
