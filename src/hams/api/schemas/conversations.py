"""Wire models of the conversation routes: the conversation object the SDK polls, the minimal
call list, the terminate answer, the LiveKit routes (refused: 501), and the agent analytics
computed from the records."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from hams.api.schemas.common import Number, ResponseModel, WireModel, iso
from hams.db.models import ConversationLog, KnowledgeItem, WebTool
from hams.services.agent_analytics import (
    Overview,
    Performance,
    Satisfaction,
    Window,
    local_time,
)
from hams.services.conversation_views import AgentLinks, CallRow, ConversationView

CallStatus = Literal["PENDING", "IN_PROGRESS", "COMPLETED", "NO_ANSWER", "FAILED", "FORWARDED",
                     "TERMINATED"]


class WebToolBrief(ResponseModel):
    id: str = Field(description="The version in use")
    persistentId: str
    version: int
    name: str
    type: str
    description: str | None
    isActive: bool

    @classmethod
    def of(cls, tool: WebTool) -> WebToolBrief:
        return cls(id=tool.id, persistentId=tool.persistent_id, version=tool.version,
                   name=tool.name, type=tool.type, description=tool.description,
                   isActive=tool.is_active)


class AgentWebToolLink(ResponseModel):
    webTool: WebToolBrief


class KnowledgeItemBrief(ResponseModel):
    id: str
    itemName: str
    type: str
    status: str
    isActive: bool

    @classmethod
    def of(cls, item: KnowledgeItem) -> KnowledgeItemBrief:
        return cls(id=item.id, itemName=item.item_name, type=item.type, status=item.status,
                   isActive=item.is_active)


class AgentKnowledgeLink(ResponseModel):
    knowledgeBaseItem: KnowledgeItemBrief


class ConversationAgent(ResponseModel):
    """The agent as it is now: its web tools and knowledge items (null once it is deleted)."""

    id: str
    agentName: str
    voiceAgentWebTools: list[AgentWebToolLink]
    webTools: list[WebToolBrief]
    voiceAgentKnowledgeBases: list[AgentKnowledgeLink]

    @classmethod
    def of(cls, links: AgentLinks) -> ConversationAgent:
        tools = [WebToolBrief.of(tool) for tool in links.tools]
        return cls(id=links.agent.id, agentName=links.agent.name,
                   voiceAgentWebTools=[AgentWebToolLink(webTool=t) for t in tools],
                   webTools=tools,
                   voiceAgentKnowledgeBases=[
                       AgentKnowledgeLink(knowledgeBaseItem=KnowledgeItemBrief.of(item))
                       for item in links.knowledge_items])


class ConversationLogPublic(ResponseModel):
    """One log entry; ``payload`` holds the entry (kind, role, text, times, interrupted) and
    what its kind adds (a tool call's name, arguments, result and duration...)."""

    id: str
    timestamp: str | None = Field(description="When the entry began (its creation otherwise)")
    payload: dict[str, Any]
    createdAt: str | None
    updatedAt: str | None

    @classmethod
    def of(cls, entry: ConversationLog) -> ConversationLogPublic:
        payload = {**(entry.payload or {}), "kind": entry.kind, "role": entry.role,
                   "text": entry.text, "startTime": iso(entry.started_at),
                   "endTime": iso(entry.ended_at), "interrupted": entry.interrupted}
        return cls(id=entry.id, timestamp=iso(entry.started_at or entry.created_at),
                   payload=payload, createdAt=iso(entry.created_at),
                   updatedAt=iso(entry.updated_at))


class ConversationPublic(ResponseModel):
    """The conversation object (GET /v1/voice-agents/conversation/{id}), Hamsa's fields in
    its order, then hams' own."""

    id: str
    model: str | None
    agentDetails: dict[str, Any] = Field(description="The agent as it was at the call's start")
    jobResponse: dict[str, Any] | None = Field(description="The outcome extracted after the "
                                                           "call, when the agent asks for one")
    status: CallStatus
    type: str
    processingType: str
    voiceAgentId: str | None
    apiKeyId: str | None
    createdAt: str | None
    updatedAt: str | None
    title: str | None
    mediaUrl: str | None = Field(description="The recording of both sides, signed; null "
                                             "until the call has ended with one")
    callParams: dict[str, Any]
    callDuration: Number | None = Field(description="Seconds; null while the call is live")
    channelType: str
    callAnalysis: dict[str, Any] | None = Field(description="{summary, sentiment}, after the "
                                                            "call")
    voiceAgent: ConversationAgent | None
    logs: list[ConversationLogPublic]
    performanceMetrics: dict[str, Any] | None
    totalCost: Number
    transcript: str | None  # hams extras from here on
    endReason: str | None
    usage: dict[str, Any] | None
    params: dict[str, Any] = Field(description="The params the conversation started with")

    @classmethod
    def of(cls, view: ConversationView) -> ConversationPublic:
        job, row = view.job, view.conversation
        return cls(
            id=job.id, model=job.model, agentDetails=view.agent_details,
            jobResponse=job.job_response, status=job.status, type=job.type,
            processingType=job.processing_type, voiceAgentId=job.voice_agent_id,
            apiKeyId=job.api_key_id, createdAt=iso(job.created_at),
            updatedAt=iso(job.updated_at), title=job.title,
            mediaUrl=view.media_url, callParams=row.call_params or {},
            callDuration=row.call_duration, channelType=row.channel_type,
            callAnalysis=row.call_analysis,
            voiceAgent=ConversationAgent.of(view.agent) if view.agent else None,
            logs=[ConversationLogPublic.of(entry) for entry in view.logs],
            performanceMetrics=row.performance_metrics, totalCost=job.total_cost or 0,
            transcript=row.transcript, endReason=row.end_reason, usage=row.usage,
            params=row.params or {})


class CallSummary(ResponseModel):
    id: str
    createdAt: str | None
    status: CallStatus
    voiceAgentId: str | None
    agentName: str | None
    duration: Number | None = Field(description="Seconds; null while the call is live")
    channelType: str
    callParams: dict[str, Any]

    @classmethod
    def of(cls, row: CallRow) -> CallSummary:
        job, conversation = row.job, row.conversation
        return cls(id=job.id, createdAt=iso(job.created_at), status=job.status,
                   voiceAgentId=conversation.voice_agent_id,
                   agentName=conversation.agent_name, duration=conversation.call_duration,
                   channelType=conversation.channel_type,
                   callParams=conversation.call_params or {})


class CallsPage(ResponseModel):
    total: int = Field(description="The project's conversations")
    filtered: int = Field(description="Those the filters match")
    calls: list[CallSummary]


class TerminationRequested(ResponseModel):
    id: str
    status: CallStatus = Field(description="TERMINATED at once for a call not yet connected; "
                                           "IN_PROGRESS until its process ends it (within a "
                                           "second)")
    terminateRequestedAt: str | None


class TerminateAnswer(ResponseModel):
    success: bool = True
    message: str = "Conversation terminated successfully."
    messageKey: str = "ConversationTerminatedSuccessfully"
    data: TerminationRequested


class RoomRequest(WireModel):
    """What the LiveKit SDK (≥0.4) sends to participant-token and room/conversation-init."""

    voiceAgentId: str | None = Field(None, max_length=100)
    params: dict[str, Any] | None = None
    tools: list[Any] | None = None
    voiceEnablement: bool | None = None
    jobId: str | None = Field(None, max_length=100)
    channelType: str | None = Field(None, max_length=40)


class RoomToken(ResponseModel):
    """What participant-token answers where LiveKit is configured (not in hams yet: 501)."""

    liveKitAccessToken: str
    jobId: str | None


class RoomConversation(ResponseModel):
    """What room/conversation-init answers where LiveKit is configured (not in hams yet: 501)."""

    jobId: str


# ---- agent analytics (computed from the conversation records) -----------------------------

def _window_fields(within: Window) -> dict[str, Any]:
    """hams extras on every analytics answer: the period as resolved."""
    return {"startPeriod": iso(within.start), "endPeriod": iso(within.end)}


class CallsInBucket(ResponseModel):
    timeBucket: str = Field(description="The bucket's start in the caller's local time "
                                        "(ISO 8601 with the timeDifference offset)")
    count: str = Field(description="Sessions created in the bucket, as a string")


class DurationBuckets(ResponseModel):
    shortDurationBucketCalls: int = Field(description="Under 60 s")
    mediumDurationBucketCalls: int = Field(description="60 s to 300 s")
    longDurationBucketCalls: int = Field(description="Over 300 s")


class AnalyticsOverview(ResponseModel):
    liveSessionsNumber: int = Field(description="Sessions IN_PROGRESS now (any period)")
    totalSessionsNumber: int
    averageSessionDuration: Number = Field(description="Seconds, over measured sessions")
    averageMessagesPerSession: Number = Field(description="User and agent turns per "
                                                          "connected session")
    totalSessionDuration: Number = Field(description="Seconds")
    averageWordsPerAiResponse: Number
    forwardToHumanAgent: int
    callsOverTime: list[CallsInBucket]
    callsByDurationBuckets: DurationBuckets
    startPeriod: str | None = Field(description="The period's start, UTC (inclusive)")
    endPeriod: str | None = Field(description="The period's end, UTC (exclusive)")
    interval: Literal["hour", "day"] = Field(description="The callsOverTime bucket")

    @classmethod
    def of(cls, view: Overview) -> AnalyticsOverview:
        return cls(
            **_window_fields(view.window), interval="hour" if view.window.hourly else "day",
            liveSessionsNumber=view.live_sessions,
            totalSessionsNumber=view.total_sessions,
            averageSessionDuration=view.average_session_duration,
            averageMessagesPerSession=view.average_messages_per_session,
            totalSessionDuration=view.total_session_duration,
            averageWordsPerAiResponse=view.average_words_per_ai_response,
            forwardToHumanAgent=view.forwarded,
            callsOverTime=[CallsInBucket(
                timeBucket=local_time(start, view.window).isoformat(timespec="milliseconds"),
                count=str(count)) for start, count in view.calls_over_time],
            callsByDurationBuckets=DurationBuckets(
                shortDurationBucketCalls=view.short_calls,
                mediumDurationBucketCalls=view.medium_calls,
                longDurationBucketCalls=view.long_calls))


class AnalyticsPerformance(ResponseModel):
    avgAsrProcessingTime: Number | None = Field(description="ms, end of speech → transcript")
    avgLlmResponseTime: Number | None = Field(description="ms, transcript → first LLM token")
    avgTtsGenerationTime: Number | None = Field(description="ms, first token → first audio")
    latency: Number | None = Field(description="ms, end of speech → first agent audio")
    sessionsHaveErrorsPercentage: Number | None = Field(description="FAILED sessions, %")
    measuredSessions: int = Field(description="Sessions with latency figures (hams)")
    startPeriod: str | None = Field(description="The period's start, UTC (inclusive)")
    endPeriod: str | None = Field(description="The period's end, UTC (exclusive)")

    @classmethod
    def of(cls, view: Performance) -> AnalyticsPerformance:
        return cls(**_window_fields(view.window), avgAsrProcessingTime=view.asr_ms,
                   avgLlmResponseTime=view.llm_ms, avgTtsGenerationTime=view.tts_ms,
                   latency=view.latency_ms, sessionsHaveErrorsPercentage=view.error_percentage,
                   measuredSessions=view.measured_sessions)


class SentimentDistribution(ResponseModel):
    negative: int
    neutral: int
    positive: int


class AnalyticsSatisfaction(ResponseModel):
    csatScore: Number | None = Field(description="Always null: hams has no survey data")
    escalationRate: Number | None = Field(description="FORWARDED sessions, %")
    firstCallResolutionPercentage: Number | None = Field(description="Always null: hams "
                                                                     "does not know it")
    npsScore: Number | None = Field(description="Always null: hams has no survey data")
    sentimentDistribution: SentimentDistribution = Field(
        description="Sessions whose post-call analysis found each sentiment")
    analysedSessions: int = Field(description="Sessions with a sentiment (hams)")
    startPeriod: str | None = Field(description="The period's start, UTC (inclusive)")
    endPeriod: str | None = Field(description="The period's end, UTC (exclusive)")

    @classmethod
    def of(cls, view: Satisfaction) -> AnalyticsSatisfaction:
        return cls(**_window_fields(view.window), csatScore=None,
                   escalationRate=view.escalation_rate, firstCallResolutionPercentage=None,
                   npsScore=None,
                   sentimentDistribution=SentimentDistribution(**view.sentiments),
                   analysedSessions=view.analysed_sessions)
