"""Every HAMS_* setting, in one class; nothing else in hams reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_STT_MODEL = "large-v3-turbo"
BUNDLED_BASE_MODELS = ("bundled", "bundled-base")  # Whisper base, multilingual (offline extra)
BUNDLED_TINY_EN_MODEL = "bundled-tiny.en"  # Whisper tiny.en (offline extra): fast, English only
PUBLIC_STT_MODELS = ("Hamsa-General-V2.0", "Hamsa-Conversational-V1.0")
ROUTE_CLASSES = ("jobs", "read", "realtime")  # rate-limit classes (api/deps.py RateClass)


class Settings(BaseSettings):
    """Server, worker and CLI configuration; built once at the entry point and passed down."""

    model_config = SettingsConfigDict(env_prefix="HAMS_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Field(Path("./data"), description="Where SQLite, blobs and models live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite at DATA_DIR/hams.db. PostgreSQL: "
        "postgresql://user@host/db."
    )
    public_url: str | None = Field(
        None, description="Base of the URLs the server hands out; default from the request."
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Web origins whose pages may call the API "
        "(the voice SDK in a browser sends its key itself: no cookies are involved); [] "
        "turns CORS off."
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs previewUrl links; default a random key kept in the database, "
        "so every replica shares it."
    )
    log_level: str = Field("INFO", description="Python logging level.")

    stt_model: str = Field(
        DEFAULT_STT_MODEL,
        description="faster-whisper model name (downloaded into DATA_DIR/models on first use) or "
        "a local CTranslate2 model directory; 'bundled' = the offline extra's multilingual Whisper "
        "base (also the fallback when the model cannot be loaded), 'bundled-tiny.en' = its "
        "English-only tiny.en.",
    )
    stt_model_general: str | None = Field(
        None, description="Engine model for Hamsa-General-V2.0; default STT_MODEL."
    )
    stt_model_conversational: str | None = Field(
        None, description="Engine model for Hamsa-Conversational-V1.0; default STT_MODEL."
    )
    stt_device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Inference device.")
    stt_compute_type: str = Field(
        "default", description="CTranslate2 compute type; default int8 on CPU, float16 on GPU."
    )
    stt_cpu_threads: int = Field(0, ge=0, description="CPU threads per model; 0 = library default.")
    stt_vad: bool = Field(True, description="Skip silence with Silero VAD before decoding.")
    stt_beam_size: int = Field(5, ge=1, le=20, description="Beam size for decoding.")
    stt_price_per_minute: dict[str, float] = Field(
        default_factory=dict,
        description='Price per audio minute by public model, JSON: {"Hamsa-General-V2.0": 0.01}.',
    )

    tts_piper_voices: dict[str, str] = Field(
        default_factory=dict,
        description='Piper voices (.onnx paths) by voice name, by "dialect:gender" or by dialect '
        'code, JSON: {"jor:male": "/voices/ar_JO-kareem-medium.onnx"}; a plain dialect key '
        'gives every voice of that dialect this one Piper voice, whatever its gender; others '
        'use espeak-ng.',
    )
    tts_bundled_english: bool = Field(
        True, description="Serve male English voices with the offline extra's Piper voice (a "
        "man's voice) when installed; female English voices use espeak-ng's female variants."
    )
    tts_realtime_max_chars: int = Field(
        2000, gt=0, description="Longest text for the realtime TTS routes."
    )
    tts_job_max_chars: int = Field(10000, gt=0, description="Longest text for a TTS job.")

    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible API base for AI content, e.g. "
        "http://127.0.0.1:11434/v1 (Ollama) or https://api.openai.com/v1; unset = extractive "
        "parts only (summary, keywords, keyTopicsWithBullets, titles, introduction)."
    )
    llm_model: str | None = Field(None, description="Chat model name sent to the LLM endpoint.")
    llm_api_key: SecretStr | None = Field(
        None, description="Bearer token for the LLM endpoint, when it needs one."
    )
    llm_temperature: float = Field(0.3, ge=0, le=2, description="Sampling temperature.")
    llm_timeout: float = Field(120.0, gt=0, description="Seconds per LLM request.")
    llm_max_retries: int = Field(
        3, ge=0, description="Retries of one LLM request on 429, 5xx or a connection error."
    )
    llm_max_input_chars: int = Field(
        12000, ge=4000, description="Most characters of message text (prompts, instructions "
        "and transcript) in one LLM request; longer transcripts are condensed chunk by chunk."
    )
    llm_json_mode: bool = Field(
        True, description="Ask the endpoint for a JSON object (response_format); turn off for "
        "servers that reject it."
    )
    ai_content_price_per_1k_chars: float = Field(
        0.0, ge=0, description="Price of an AI content job per 1000 transcript characters."
    )
    tts_price_per_1k_chars: float = Field(
        0.0, ge=0, description="Price per 1000 characters of text to speech (TTS jobs, "
        "realtime TTS, OpenAI speech); realtime speech to text uses STT_PRICE_PER_MINUTE."
    )

    agent_max_conversations: int = Field(
        8, ge=1, le=1000, description="Live voice-agent conversations per API process; "
        "over it conversation-init answers 429 with Retry-After."
    )
    agent_stt_model: str = Field(
        PUBLIC_STT_MODELS[0], description="The speech-to-text model conversations transcribe "
        "the caller with (a model name as in /v1/realtime/stt)."
    )
    agent_price_per_minute: float = Field(
        0.0, ge=0, description="Price of one conversation minute, on top of its STT and TTS."
    )
    agent_tool_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="How long a conversation waits for the SDK's "
        "tools_response to a client tool call before telling the LLM it timed out."
    )
    agent_lease_seconds: float = Field(
        15.0, ge=2, le=600, description="How long a live conversation stays IN_PROGRESS "
        "without its process renewing it (every second) before a sweep fails it."
    )
    instance_id: str | None = Field(
        None, description="This process's name among replicas (default host:port): a "
        "restarted process fails the conversations it held under the same name at once."
    )
    realtime_pool_size: int = Field(
        2, ge=1, le=64, description="Realtime speech-to-text inferences run at once per "
        "process (REST and WebSocket share them)."
    )
    realtime_queue_size: int = Field(
        8, ge=0, description="Realtime requests that may wait for the pool; beyond it REST "
        "answers 429 with Retry-After and the WebSocket an error frame."
    )
    realtime_retry_after_seconds: int = Field(
        1, ge=1, description="Retry-After sent when the realtime pool is full."
    )
    realtime_max_audio_seconds: float = Field(
        60.0, gt=0, description="Longest utterance (or stream) realtime speech-to-text takes."
    )
    realtime_max_body_bytes: int = Field(
        8 * 1024 * 1024, gt=0, description="Largest POST /v1/realtime/stt body and WebSocket "
        "message, in bytes (a 60 s base64 WAV is about 2.6 MB; audioList needs about 5 bytes "
        "per sample)."
    )
    realtime_eos_window_seconds: float = Field(
        0.6, gt=0, le=5, description="Trailing audio whose silence decides end of speech."
    )
    realtime_partial_seconds: float = Field(
        1.0, gt=0, description="Streaming speech-to-text: new audio between partial transcripts."
    )
    realtime_ws_idle_seconds: float = Field(
        3600.0, gt=0, description="A WebSocket with no message for this long is closed."
    )
    realtime_ws_ping_seconds: float = Field(
        30.0, gt=0, description="How often the server pings each WebSocket; a client that has "
        "not answered within four intervals is disconnected."
    )
    realtime_ws_reauth_seconds: float = Field(
        30.0, gt=0, description="How often an open WebSocket's API key is checked again, so "
        "a revoked key stops working on connections already open."
    )

    openai_wait_seconds: float = Field(
        540.0, gt=0, description="Longest POST /v1/audio/transcriptions or /translations waits "
        "for its job; past it the answer is a 504 naming the job, whose result GET /v1/jobs "
        "still gives (below the openai package's 600 s client timeout)."
    )
    openai_voices: dict[str, str] = Field(
        default_factory=dict,
        description='OpenAI voice names mapped to hams voices (name or id), JSON: '
        '{"alloy": "Layan", "onyx": "James"}; an unmapped OpenAI voice speaks with a voice of '
        "the input's script: Arabic text → Modern Standard Arabic, other text → English.",
    )
    openai_speech_max_chars: int = Field(
        4096, gt=0, description="Longest input for POST /v1/audio/speech (OpenAI's own limit "
        "is 4096)."
    )

    allow_private_urls: bool = Field(
        False, description="Let the server fetch from and post to loopback/private addresses "
        "(development and tests only)."
    )
    url_allowlist: list[str] = Field(
        default_factory=list,
        description='JSON list of "host" or "host:port" exempt from the private-address check.',
    )
    media_max_bytes: int = Field(
        500 * 1024 * 1024, gt=0, description="Largest media file fetched or uploaded, in bytes."
    )
    media_max_seconds: float = Field(
        4 * 3600, gt=0, description="Longest media accepted, in seconds of audio."
    )
    media_fetch_timeout: float = Field(
        300.0, gt=0, description="Total seconds allowed to download one media file."
    )
    max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest JSON request body, in bytes."
    )

    lease_seconds: float = Field(
        60.0, gt=0, description="Job lease length; a worker heartbeats at a third of it."
    )
    max_attempts: int = Field(3, ge=1, description="Attempts per job before it fails.")
    retry_backoff_seconds: float = Field(
        10.0, ge=0, description="First retry delay; doubles on each attempt."
    )
    worker_poll_seconds: float = Field(
        0.5, gt=0, description="How often an idle worker looks for work."
    )
    shutdown_grace_seconds: float = Field(
        30.0, ge=0, description="On SIGTERM, how long running jobs may finish before release."
    )
    sync_wait_seconds: float = Field(
        300.0, ge=0, description="Longest a processingType=sync request waits for its job."
    )

    webhook_max_attempts: int = Field(10, ge=1, description="Delivery attempts per webhook.")
    webhook_backoff_seconds: float = Field(
        170.0, ge=0, description="First webhook retry delay; doubles each time (10 attempts span "
        "about a day)."
    )
    webhook_timeout: float = Field(10.0, gt=0, description="Seconds per webhook POST.")

    signed_url_seconds: int = Field(
        24 * 3600, gt=0, description="Lifetime of preview and media links."
    )
    idempotency_hours: float = Field(24.0, gt=0, description="How long Idempotency-Key is kept.")

    # --- protection: rate limits per API key, running jobs per project (issue 7) ---
    rate_limit_per_minute: int = Field(
        0, ge=0, description="Requests one API key may make per window (60 s) in each route "
        "class (jobs, read, realtime); over it the answer is 429 with Retry-After. 0 = off."
    )
    rate_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Per-route-class overrides of RATE_LIMIT_PER_MINUTE, JSON: {"realtime": '
        '600, "read": 0}; 0 = that class is not limited.',
    )
    rate_limit_window_seconds: int = Field(
        60, ge=1, le=3600, description="Length of a rate-limit window; keep 60 outside tests, "
        "and the same on every process."
    )
    redis_url: str | None = Field(
        None, description="Keep rate-limit counters in Redis (redis://host:6379/0), shared by "
        "every API replica; unset = in the database. Unreachable Redis lets requests through."
    )
    redis_key_prefix: str = Field(
        "hams:", description="Prefix of every Redis key hams writes."
    )
    project_max_running_jobs: int = Field(
        0, ge=0, description="Jobs of one project running at once; more wait in the queue and "
        "start as others finish, fairly across projects. 0 = unlimited."
    )

    # --- voice agents: knowledge base and web tools (issue 14) ---
    kb_max_file_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest knowledge-base file (upload or fetched "
        "page), in bytes."
    )
    kb_max_text_chars: int = Field(
        2_000_000, gt=0, description="Most characters of text kept from one knowledge-base "
        "item; longer extracted text fails the item with a clear reason."
    )
    kb_max_urls_per_item: int = Field(
        20, ge=1, description="Most pages (itemUrls) in one URL knowledge-base item."
    )
    kb_chunk_chars: int = Field(
        800, ge=200, le=8000, description="Longest knowledge-base chunk, in characters; chunks "
        "end on sentence boundaries."
    )
    kb_max_chunks_per_project: int = Field(
        20_000, ge=1, description="Most knowledge-base chunks one project may hold: a search "
        "ranks them all, from an index each process caches up to this size. An item whose "
        "processing would go past it fails, its failureReason naming this setting."
    )
    kb_embeddings: bool = Field(
        True, description="Index knowledge-base chunks with the packaged multilingual "
        "sentence encoder (the offline extra) besides BM25; off or not installed = BM25 only."
    )
    web_tool_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Default timeout of a web-tool request, when the tool "
        "sets none."
    )
    web_tool_max_response_bytes: int = Field(
        64 * 1024, gt=0, description="Most bytes of a web tool's answer read (and handed to "
        "the agent); the rest is cut."
    )

    # --- scale-out: object storage, wake-ups, batched speech, metrics (issue 16) ---
    storage_url: str | None = Field(
        None, description="Where blobs (uploads, fetched media, TTS audio, recordings, "
        "knowledge-base files) live: unset = DATA_DIR/blobs; s3://bucket/prefix = an "
        "S3-compatible object store (the S3_* settings), shared by every replica and worker."
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint for STORAGE_URL (SeaweedFS, MinIO, ...: "
        "http://host:8333); unset = AWS."
    )
    s3_region: str = Field("us-east-1", description="S3 region for STORAGE_URL.")
    s3_access_key_id: str | None = Field(None, description="S3 access key for STORAGE_URL.")
    s3_secret_access_key: SecretStr | None = Field(
        None, description="S3 secret key for STORAGE_URL."
    )
    s3_presigned_downloads: bool = Field(
        False, description="File links and /v1/media downloads redirect to a presigned S3 URL "
        "instead of streaming through the API (the S3 endpoint must then be reachable by "
        "clients)."
    )
    s3_multipart_bytes: int = Field(
        16 * 1024 * 1024, ge=5 * 1024 * 1024, description="Blobs larger than this are "
        "uploaded to S3 in parts of this size."
    )
    queue_notify: bool = Field(
        True, description="Wake idle workers and long-poll waiters in other processes at "
        "once: LISTEN/NOTIFY on PostgreSQL, Redis pub/sub on SQLite when REDIS_URL is set; "
        "polling (WORKER_POLL_SECONDS) stays as the safety net."
    )
    worker_claim_batch: int = Field(
        8, ge=1, le=100, description="Most jobs a worker claims in one statement, never more "
        "than its idle threads."
    )
    stt_batch_size: int = Field(
        8, ge=1, le=64, description="Most 30-second windows the batched Whisper pipeline "
        "decodes together; concurrent transcriptions in one process share batches. 1 = "
        "one job per decode."
    )
    stt_batch_wait_ms: float = Field(
        30.0, ge=0, le=1000, description="How long a transcription waits for others to share "
        "its batch."
    )
    metrics_enabled: bool = Field(
        True, description="Serve GET /metrics in the Prometheus text format (no API key)."
    )
    worker_metrics_port: int = Field(
        0, ge=0, le=65535, description="`hams worker` serves its own /metrics on this port "
        "(127.0.0.1 unless METRICS_HOST); 0 = off."
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address `hams worker` binds its /metrics to."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as JSON objects (one per line) carrying "
        "the job id of the work they belong to."
    )

    @field_validator("rate_limits")
    @classmethod
    def _known_route_classes(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(ROUTE_CLASSES))
        if unknown:
            raise ValueError(f"unknown route class {', '.join(unknown)} in HAMS_RATE_LIMITS; "
                             f"use {', '.join(ROUTE_CLASSES)}")
        if any(limit < 0 for limit in value.values()):
            raise ValueError("HAMS_RATE_LIMITS values must be 0 (unlimited) or more")
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.public_url:
            self.public_url = self.public_url.rstrip("/")
        if self.llm_base_url:
            self.llm_base_url = self.llm_base_url.rstrip("/")
            if not self.llm_model:
                raise ValueError("HAMS_LLM_MODEL must name a chat model when HAMS_LLM_BASE_URL "
                                 "is set")
        if self.shutdown_grace_seconds > 3600:
            raise ValueError("shutdown_grace_seconds above an hour would hold a deploy hostage")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, with the SQLite default and psycopg 3 as the PostgreSQL driver."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'hams.db').resolve()}"
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    def engine_model_for(self, public_model: str) -> str:
        """The configured engine model behind a public Hamsa model name."""
        if public_model == "Hamsa-Conversational-V1.0" and self.stt_model_conversational:
            return self.stt_model_conversational
        if public_model == "Hamsa-General-V2.0" and self.stt_model_general:
            return self.stt_model_general
        return self.stt_model
