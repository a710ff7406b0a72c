"""Typed results: snake_case attributes read from the camelCase wire.

Every model keeps the fields it does not know (``model_extra``), so a newer server's
additions are not lost, and ``model_dump(by_alias=True)`` gives back the wire names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from hams.client.errors import JobFailed

FINISHED = ("COMPLETED", "FAILED", "TERMINATED", "NO_ANSWER", "FORWARDED")  # conversations too


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Word(WireModel):
    word: str = ""
    start: float = 0.0
    end: float = 0.0
    probability: float | None = None


class Segment(WireModel):
    id: int | None = None
    start: float = 0.0
    end: float = 0.0
    text: str = ""
    speaker: str | None = None
    words: list[Word] = Field(default_factory=list)


class Transcript(WireModel):
    """A finished transcription's ``jobResponse``."""

    text: str = ""
    language: str | None = None
    duration: float | None = None
    segments: list[Segment] = Field(default_factory=list)
    model: str | None = None
    engine_model: str | None = None
    srt: str | None = None


class Job(WireModel):
    """A job as ``GET /v1/jobs`` returns it (transcription, TTS or AI content).

    ``status`` is Hamsa's PENDING | COMPLETED | FAILED; ``state`` is hams' finer queue state
    (queued, running, retrying, waiting, completed, failed, cancelled; None on Hamsa's cloud).
    """

    id: str
    type: str | None = None
    status: str = "PENDING"
    state: str | None = None
    title: str | None = None
    model: str | None = None
    processing_type: str | None = None
    media_url: str | None = None
    webhook_url: str | None = None
    job_response: Any = None
    usage_time: float | None = None  # seconds of audio (a string on the wire)
    total_cost: float | None = None
    usage_tokens: int | None = None
    from_lng: str | None = None
    to_lng: str | None = None
    relevant_job_id: str | None = None
    tts_voice_id: str | None = None
    error: str | None = None
    attempts: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    preview_url: str | None = None  # from the envelope of GET /v1/jobs

    @property
    def done(self) -> bool:
        """Finished, one way or the other: nothing will change any more."""
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "COMPLETED"

    @property
    def transcript(self) -> Transcript | None:
        """The transcript of a completed transcription; None for other jobs or before."""
        response = self.job_response
        if not isinstance(response, dict) or self.type not in (None, "TRANSCRIPTION"):
            return None
        if "text" not in response and "segments" not in response:
            return None
        return Transcript.model_validate(response)

    @property
    def ai_content(self) -> dict[str, str] | None:
        """The parts of a completed AI content job, by their Hamsa names (``summary``, ...)."""
        response = self.job_response
        if self.type != "AI_CONTENT" or not isinstance(response, dict):
            return None
        return {k: v for k, v in response.items()
                if isinstance(v, str) and k != "transcriptionJobId"}

    def raise_for_status(self) -> Job:
        """This job if it did not fail; JobFailed (carrying it) if it did."""
        if self.status == "FAILED":
            raise JobFailed(f"Job {self.id} failed: {self.error or 'no reason given'}", job=self)
        return self


class Upload(WireModel):
    """A file stored by ``POST /v1/media``; pass ``media_url`` to a transcription."""

    id: str
    media_url: str
    size: int | None = None
    filename: str | None = None
    content_type: str | None = None
    created_at: datetime | None = None


class JobSummary(WireModel):
    """One row of ``GET /v2/jobs``."""

    id: str
    title: str | None = None
    status: str | None = None
    type: str | None = None
    media_url: str | None = None
    media_type: str | None = None
    total_cost: float | None = None
    created_at: datetime | None = None


class JobPage(WireModel):
    jobs: list[JobSummary] = Field(default_factory=list)
    page: int = 1
    total_count: int = 0
    total_pages: int = 0


class JobView(WireModel):
    """The v2 summary object (``GET /v2/jobs/view/{id}``, ``POST /v1/jobs/all`` rows)."""

    id: str
    title: str | None = None
    type: str | None = None
    status: str | None = None
    cost: float | None = None
    system_model_key: str | None = None
    url: str | None = None
    relevant_job_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class JobList(WireModel):
    """``POST /v1/jobs/all``: ``total`` in the project, ``filtered`` matching the filters."""

    jobs: list[JobView] = Field(default_factory=list)
    total: int = 0
    filtered: int = 0


class Dialect(WireModel):
    id: str | None = None
    code: str | None = None
    name: str | None = None
    language_code: str | None = None
    language: str | None = None


class Voice(WireModel):
    id: str
    name: str
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    dialect: Dialect | None = None
    dialect_code: str | None = None
    engine: str | None = None  # hams: what speaks it on this server


class VoicePage(WireModel):
    """``GET /v2/tts/voices``: one page of a voice search."""

    voices: list[Voice] = Field(default_factory=list)
    page: int = 1
    total_count: int = 0
    total_pages: int = 0


class RealtimeTranscript(WireModel):
    """``POST /v1/realtime/stt``; the EOS fields only when end of speech was asked for."""

    text: str = ""
    language: str | None = None
    duration: float | None = None
    model: str | None = None
    is_eos: bool | None = None
    eos_probability: float | None = None


class EndOfSpeech(WireModel):
    """An ``eos`` event of the realtime WebSocket."""

    is_eos: bool = False
    eos_probability: float | None = None


class Measure(WireModel):
    """One figure of the statistics: ``value`` in ``unit`` (Hamsa sends requests as a string)."""

    value: float | str = 0
    unit: str | None = None


class UsageNumbers(WireModel):
    """``GET /v1/projects/statistics/numbers``; hams adds ``tts``, ``realtime``, ``by_kind``."""

    tokens: Measure = Field(default_factory=Measure)
    transcription: Measure = Field(default_factory=Measure)
    price: Measure = Field(default_factory=Measure)
    requests: Measure = Field(default_factory=Measure)


class ChartPoint(WireModel):
    date: str
    value: float = 0
    unit: str | None = None


class UsageChart(WireModel):
    """``GET /v1/projects/statistics/chart``: one point per day (per hour under two days)."""

    cost: list[ChartPoint] = Field(default_factory=list)
    requests: list[ChartPoint] = Field(default_factory=list)
    transcription: list[ChartPoint] = Field(default_factory=list)
    tokens: list[ChartPoint] = Field(default_factory=list)


class Project(WireModel):
    id: str
    name: str | None = None
    is_deactivated: bool | None = None
    webhook_secret: str | None = None  # hams: verifies X-Hams-Signature on webhooks
    created_at: datetime | None = None
    updated_at: datetime | None = None


class DictionaryWord(WireModel):
    word: str
    pronunciation: str


class VoiceDictionary(WireModel):
    id: str
    name: str
    words: list[DictionaryWord] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TtsHistory(WireModel):
    id: str
    script: str | None = None
    audio: str | None = None
    download_url: str | None = None
    tts_voice: dict[str, Any] | None = None
    created_at: datetime | None = None


class TtsHistoryPage(WireModel):
    tts_histories: list[TtsHistory] = Field(default_factory=list)
    page: int = 1
    total_count: int = 0
    total_pages: int = 0


class WebhookAttempt(WireModel):
    number: int
    started_at: datetime | None = None
    duration_ms: int | None = None
    status_code: int | None = None
    error: str | None = None


class WebhookDelivery(WireModel):
    """A job's webhook delivery and every attempt made (hams extension)."""

    id: str
    url: str
    event: str | None = None
    state: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime | None = None
    attempt_log: list[WebhookAttempt] = Field(default_factory=list)


# --- voice agents (v2, the nested shape) -------------------------------------------------------


class AgentConversation(WireModel):
    greeting_message: str = ""
    greeting_message_type: str | None = None  # STATIC | PROMPT
    preamble: str = ""
    poke_messages: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    alignment: dict[str, Any] | None = None


class AgentVoice(WireModel):
    voice_id: str | None = None
    voice_record_id: str | None = None
    voice_record: dict[str, Any] | None = None  # id, name, language, languageCode, ...
    lang: str | None = None
    tts_params: dict[str, Any] | None = None


class AgentLlm(WireModel):
    """The agent's own OpenAI-compatible endpoint; all None: the server's LLM."""

    provider: str | None = None
    model: str | None = None
    temperature: float | None = None
    base_url: str | None = None
    api_key: str | None = None  # masked by the server ("sk-…last4")


class AgentCallSettings(WireModel):
    silence_threshold: int | None = None
    interrupt: bool | None = None
    user_inactivity_timeout: float | None = None
    max_call_duration: float | None = None
    response_delay: float | None = None
    min_interruption_duration: float | None = None
    vad_activation_threshold: float | None = None
    noise_cancellation: str | None = None
    cancel_noise_per: str | None = None
    background_noise: bool | None = None
    enable_auto_gain_control: bool | None = None
    send_denoised_to_stt: bool | None = None
    wait_for_user_to_speak_first: bool | None = None
    thinking_voice: bool | None = None
    speaker_identification: bool | None = None
    agentic_rag: bool | None = None
    language_dialect_switcher: bool | None = None
    gender_detection: bool | None = None
    smart_call_end: bool | None = None


class AgentTool(WireModel):
    """A web tool on an agent: ``version`` None follows the tool's latest version."""

    persistent_id: str
    tool_id: str | None = None
    version: int | None = None
    tool_type: str | None = None
    node_id: str | None = None
    test_result: Any = None
    overrides: dict[str, Any] | None = None


class Agent(WireModel):
    """A voice agent in Hamsa's nested v2 shape (``/v2/voice-agents``); fields the SDK does
    not know yet are kept (``model_extra``)."""

    id: str
    name: str = ""
    type: str | None = None  # "Single Prompt" | "Flow Agent"
    description: str | None = None
    conversation: AgentConversation = Field(default_factory=AgentConversation)
    voice: AgentVoice = Field(default_factory=AgentVoice)
    llm: AgentLlm = Field(default_factory=AgentLlm)
    call_settings: AgentCallSettings = Field(default_factory=AgentCallSettings)
    tools: list[AgentTool] = Field(default_factory=list)
    knowledge_base_items_ids: list[str] = Field(default_factory=list)
    voice_dictionary_ids: list[str] = Field(default_factory=list)
    phone_number: dict[str, Any] | None = None
    webhook_url: str | None = None
    webhook_auth: dict[str, Any] | None = None  # authSecret masked
    workflow: dict[str, Any] | None = None
    outcome: str | None = None
    outcome_response_shape: dict[str, Any] | None = None
    resolved_web_tools: list[dict[str, Any]] = Field(default_factory=list)
    is_template: bool = False
    icon: str | None = None
    collection_id: str | None = None
    real_time: bool | None = None
    web_tools_overrides: dict[str, Any] = Field(default_factory=dict)
    project_id: str | None = None
    api_key_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def lang(self) -> str | None:
        return self.voice.lang

    @property
    def preamble(self) -> str:
        return self.conversation.preamble

    @property
    def greeting(self) -> str:
        return self.conversation.greeting_message


class AgentPage(WireModel):
    """One page of ``GET /v2/voice-agents``: ``total`` in the project, ``filtered`` matching."""

    voice_agents: list[Agent] = Field(default_factory=list)
    total: int = 0
    filtered: int = 0


class PhoneNumber(WireModel):
    """A Twilio or SIP number of the project (``/v1/voice-agents/phone-number``); secrets
    (Twilio's auth token, the SIP password) are never answered."""

    id: str
    number: str
    label: str | None = None
    type: str | None = None  # TWILIO | SIP
    sip_inbound_configs: dict[str, Any] | None = None
    sip_outbound_configs: dict[str, Any] | None = None
    voice_agent_id: str | None = None
    voice_agent: dict[str, Any] | None = None  # {id, name}
    created_at: datetime | None = None
    updated_at: datetime | None = None


# --- web tools -----------------------------------------------------------------------------------


class WebToolSettings(WireModel):
    server_url: str = ""
    method_type: str | None = None
    auth_token: str | None = None  # masked by the server
    timeout: int | None = None  # milliseconds; None: the server's default
    time_out: float | None = None  # the same in seconds
    http_headers: dict[str, str] = Field(default_factory=dict)
    path_parameters: dict[str, Any] = Field(default_factory=dict)


class WebTool(WireModel):
    """One version of a web tool: ``id`` names this version, ``persistent_id`` the tool across
    its versions (an update makes the next version)."""

    id: str
    persistent_id: str
    version: int = 1
    name: str = ""
    function_name: str | None = None  # the name the agent's LLM calls it by
    type: str | None = None
    description: str | None = None
    is_active: bool = True
    is_async: bool = Field(False, alias="async")
    collection_id: str | None = None
    tool_settings: WebToolSettings = Field(default_factory=WebToolSettings)
    params: dict[str, Any] | None = None  # the arguments' JSON Schema
    messages: list[dict[str, Any]] = Field(default_factory=list)
    project_id: str | None = None
    api_key_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WebToolPage(WireModel):
    """One page of web tools, each in its latest version."""

    items: list[WebTool] = Field(default_factory=list)
    total: int = 0
    filtered: int = 0


class WebToolTestResult(WireModel):
    """One call of a web tool (hams' test route): what was called and what came back."""

    method: str = ""
    url: str = ""
    ok: bool = False  # a 2xx answer
    status: int | None = None  # None: no answer came (``error`` says why)
    latency_ms: int | None = None
    body: str | None = None
    truncated: bool = False
    content_type: str | None = None
    error: str | None = None


# --- the knowledge base ------------------------------------------------------------------------


KB_FINISHED = ("PROCESSED", "FAILED")


class KnowledgeItem(WireModel):
    """A knowledge-base item (TEXT, URL or FILE). It is made searchable by a job: ``status``
    PROCESSING, then PROCESSED or FAILED (``failure_reason`` says why)."""

    id: str
    item_name: str = ""
    type: str | None = None
    status: str = "PROCESSING"
    failure_reason: str | None = None
    content: str | None = None
    item_url: str | None = None
    item_urls: list[str] = Field(default_factory=list)
    words_number: int | None = None
    extension: str | None = None
    file_size: str | None = None  # as Hamsa writes it: "2.5MB"
    file_size_bytes: int | None = None
    is_active: bool = True
    used: bool | None = None  # whether a voice agent uses it
    job_id: str | None = None  # hams: the KNOWLEDGE_BASE job that processes it
    project_id: str | None = None
    api_key_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def done(self) -> bool:
        """Processed or failed: its status will not change until the item is changed."""
        return self.status in KB_FINISHED

    @property
    def processed(self) -> bool:
        return self.status == "PROCESSED"


class KnowledgePage(WireModel):
    """One page of knowledge-base items: ``total`` in the project, ``filtered`` matching."""

    items: list[KnowledgeItem] = Field(default_factory=list)
    total: int = 0
    filtered: int = 0


class KnowledgeHit(WireModel):
    """One chunk a search found, best first."""

    item_id: str
    item_name: str | None = None
    chunk_id: int | None = None
    position: int | None = None
    text: str = ""
    source: str | None = None  # the page URL or file name the chunk came from
    score: float = 0.0
    bm25_score: float | None = None
    vector_score: float | None = None


class KnowledgeSearch(WireModel):
    """A search's results and the mode that ran (hybrid falls back to bm25 on a server
    without embeddings)."""

    mode: str | None = None
    results: list[KnowledgeHit] = Field(default_factory=list)
