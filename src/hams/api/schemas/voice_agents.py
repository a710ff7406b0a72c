"""Voice agents on the wire: the flat v1 object and the nested v2 object over one stored agent.

Both versions' bodies become the same flat ``AgentChanges`` (v1 names, only the fields sent),
so the service knows one shape; both answers are rendered from the service's ``AgentView``.
Ranges (spec §6.1) are declared once, as the constrained types below, and used by both
versions, so an out-of-range value is a 400 naming the field as the client wrote it
(``silenceThreshold`` in v1, ``callSettings.silenceThreshold`` in v2).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from hams.api.schemas.common import (
    HEADER_SAFE,
    NO_NUL,
    JsonObject,
    Number,
    ResponseModel,
    WireModel,
    finite_json,
    iso,
)
from hams.services.voice_agents import AgentChanges, AgentView, ToolRef


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _agent_type(value: Any) -> Any:
    """"Single Prompt" and "Flow Agent", whatever the spelling (SINGLE_PROMPT, flow, ...)."""
    if not isinstance(value, str):
        return value
    folded = value.strip().lower().replace("_", " ").replace("-", " ")
    if folded in ("single prompt", "single", "single prompt agent", "prompt"):
        return "Single Prompt"
    if folded in ("flow agent", "flow", "workflow"):
        return "Flow Agent"
    return value


def _greeting_type(value: Any) -> Any:
    """STATIC | PROMPT (v1); the v2 example's "TEXT" is a static greeting."""
    value = _upper(value)
    return "STATIC" if value == "TEXT" else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


SilenceMs = Annotated[int, Field(ge=1, le=10_000, description="Silence (ms) that ends a turn")]
InactivitySeconds = Annotated[Number, Field(ge=5, le=30)]
MaxCallSeconds = Annotated[Number, Field(ge=30, le=600)]
ResponseDelayMs = Annotated[Number, Field(ge=100, le=1500)]
InterruptionSeconds = Annotated[Number, Field(ge=0.2, le=1.5)]
VadThreshold = Annotated[Number, Field(ge=0.2, le=0.9)]
Temperature = Annotated[Number, Field(ge=0, le=2)]
Lang = Annotated[Literal["ar", "en"], BeforeValidator(_lower)]
AgentType = Annotated[Literal["Single Prompt", "Flow Agent"], BeforeValidator(_agent_type)]
GreetingType = Annotated[Literal["STATIC", "PROMPT"], BeforeValidator(_greeting_type)]
Direction = Annotated[Literal["ltr", "rtl"], BeforeValidator(_lower)]
ShortText = Annotated[str, Field(max_length=300)]
LongText = Annotated[str, Field(max_length=100_000)]
Ids = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=100)]
AgentName = Annotated[str, Field(min_length=1, max_length=300, pattern=NO_NUL)]


class AgentWebhookAuth(WireModel):
    authKey: str | None = Field(None, max_length=500, pattern=HEADER_SAFE)
    authSecret: str | None = Field(None, max_length=2000, pattern=HEADER_SAFE)


class Alignment(WireModel):
    greetingMessage: Direction | None = None
    preamble: Direction | None = None


class LlmSettingsIn(WireModel):
    """An agent's OpenAI-compatible endpoint; v1 says ``modelName``, v2 ``model``."""

    provider: ShortText | None = None
    model: ShortText | None = None
    modelName: ShortText | None = None
    baseUrl: Annotated[str, Field(max_length=2000)] | None = None
    apiKey: Annotated[str, Field(max_length=2000)] | None = None
    temperature: Temperature | None = None

    def changes(self) -> dict[str, Any]:
        sent = self.model_fields_set
        out: dict[str, Any] = {name: getattr(self, name) for name in
                               ("provider", "baseUrl", "temperature") if name in sent}
        if "model" in sent or "modelName" in sent:
            out["model"] = self.model if "model" in sent else self.modelName
        return out


class V1Tools(WireModel):
    """v1's ``tools`` object: built-in abilities (older agents also send googleCalendar)."""

    model_config = ConfigDict(extra="allow")

    genderDetection: bool | None = None
    smartCallEnd: bool | None = None

    @model_validator(mode="after")
    def _finite_extras(self) -> V1Tools:
        finite_json(self.model_extra)
        return self


class CallSettingsFields(WireModel):
    """Call behaviour: flat on the v1 object, under ``callSettings`` on v2."""

    silenceThreshold: SilenceMs | None = None
    interrupt: bool | None = None
    userInactivityTimeout: InactivitySeconds | None = None
    maxCallDuration: MaxCallSeconds | None = None
    responseDelay: ResponseDelayMs | None = None
    minInterruptionDuration: InterruptionSeconds | None = None
    vadActivationThreshold: VadThreshold | None = None
    noiseCancellation: ShortText | None = None
    cancelNoisePer: ShortText | None = None
    backgroundNoise: bool | None = None
    enableAutoGainControl: bool | None = None
    sendDenoisedToStt: bool | None = None
    waitForUserToSpeakFirst: bool | None = None
    thinkingVoice: bool | None = None
    speakerIdentification: bool | None = None
    agenticRag: bool | None = None
    languageDialectSwitcher: bool | None = None


CALL_SETTINGS = tuple(CallSettingsFields.model_fields)
# v1 fields stored as they are, without translation
V1_PLAIN = ("greetingMessage", "greetingMessageType", "description", "preamble",
            "pokeMessages", "realTime", "outcome", "outcomeResponseShape", "collectionId",
            "icon", "webhookUrl", "params", "webToolsOverrides", "voiceDictionaryIds",
            "knowledgeBaseItemsIds")


def _common_changes(body: BaseModel, changes: AgentChanges) -> None:
    """The fields v1 and v2 spell alike, at the top level of either body."""
    sent = body.model_fields_set
    for name in V1_PLAIN + CALL_SETTINGS:
        if name in sent:
            value = getattr(body, name)
            changes.config[name] = value.model_dump() if isinstance(value, BaseModel) else value
    if "isTemplate" in sent:
        changes.is_template = body.isTemplate
    if "type" in sent:
        changes.agent_type = body.type
    if "webhookAuth" in sent:
        auth = body.webhookAuth
        changes.webhook_auth = {} if auth is None else auth.model_dump(
            include=auth.model_fields_set)
    if "alignment" in sent:
        changes.config["alignment"] = None if body.alignment is None else body.alignment.model_dump(
            include=body.alignment.model_fields_set)


def _llm_changes(llm: LlmSettingsIn | None, changes: AgentChanges) -> None:
    if llm is None:
        changes.llm = {}
        changes.llm_api_key = ""
        return
    changes.llm = llm.changes()
    if "apiKey" in llm.model_fields_set:
        changes.llm_api_key = llm.apiKey or ""


class AgentV1Body(CallSettingsFields):
    """PATCH /v1/voice-agents/{id}: any v1 field; a field sent as null returns to its
    default (or is cleared)."""

    agentName: AgentName | None = None
    greetingMessage: LongText | None = None
    greetingMessageType: GreetingType | None = None
    description: LongText | None = None
    preamble: LongText | None = None
    lang: Lang | None = None
    pokeMessages: Annotated[list[Annotated[str, Field(max_length=2000)]],
                            Field(max_length=50)] | None = None
    realTime: bool | None = None
    type: AgentType | None = None
    outcome: LongText | None = None
    outcomeResponseShape: JsonObject | None = None
    voiceId: ShortText | None = None
    collectionId: ShortText | None = None
    isTemplate: bool | None = None
    icon: Annotated[str, Field(max_length=2000)] | None = None
    webhookUrl: Annotated[str, Field(max_length=2000)] | None = None
    webhookAuth: AgentWebhookAuth | None = None
    params: JsonObject | None = None
    alignment: Alignment | None = None
    tools: V1Tools | None = None
    webToolsIds: Ids | None = None
    voiceDictionaryIds: Ids | None = None
    knowledgeBaseItemsIds: Ids | None = None
    webToolsOverrides: JsonObject | None = None
    llmConfig: LlmSettingsIn | None = None

    def changes(self) -> AgentChanges:
        sent = self.model_fields_set
        changes = AgentChanges()
        if "agentName" in sent:
            changes.name = self.agentName
        if "lang" in sent:
            changes.lang = self.lang
        if "voiceId" in sent:
            changes.voice = self.voiceId or ""
        _common_changes(self, changes)
        if "tools" in sent:
            tools = self.tools or V1Tools()
            extra = dict(tools.model_extra or {})
            for name in ("genderDetection", "smartCallEnd"):
                if name in tools.model_fields_set:
                    changes.config[name] = getattr(tools, name)
            changes.config["toolExtras"] = extra
        if "webToolsIds" in sent:
            changes.web_tools = [ToolRef(reference=ref) for ref in self.webToolsIds or []]
        if "llmConfig" in sent:
            _llm_changes(self.llmConfig, changes)
        return changes


class AgentV1Create(AgentV1Body):
    """POST /v1/voice-agents: ``agentName`` is required."""

    agentName: AgentName


class CloneBody(WireModel):
    agentName: AgentName | None = None


class ConversationIn(WireModel):
    greetingMessage: LongText | None = None
    greetingMessageType: GreetingType | None = None
    preamble: LongText | None = None
    pokeMessages: Annotated[list[Annotated[str, Field(max_length=2000)]],
                            Field(max_length=50)] | None = None
    params: JsonObject | None = None
    alignment: Alignment | None = None


class VoiceIn(WireModel):
    voiceId: ShortText | None = None
    voiceRecordId: ShortText | None = None
    lang: Lang | None = None
    ttsParams: JsonObject | None = None


class CallSettingsIn(CallSettingsFields):
    genderDetection: bool | None = None
    smartCallEnd: bool | None = None


class ToolIn(WireModel):
    """A web tool on a v2 agent: ``version`` pins one; without it the agent follows the
    tool's latest version."""

    persistentId: ShortText | None = None
    toolId: ShortText | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    toolType: ShortText | None = None
    nodeId: ShortText | None = None
    overrides: JsonObject | None = None


class WorkflowIn(WireModel):
    """A Flow Agent's graph, kept as sent (it runs once flows exist)."""

    model_config = ConfigDict(extra="allow")

    nodes: Annotated[list[dict[str, Any]], Field(max_length=500)] = []
    edges: Annotated[list[dict[str, Any]], Field(max_length=2000)] = []
    customVariables: Annotated[list[Any], Field(max_length=500)] = []

    @model_validator(mode="after")
    def _finite(self) -> WorkflowIn:
        finite_json(self.model_dump())
        return self


class AgentV2Body(WireModel):
    """PATCH /v2/voice-agents/{id}: any part, nested objects partially."""

    name: AgentName | None = None
    type: AgentType | None = None
    description: LongText | None = None
    conversation: ConversationIn | None = None
    voice: VoiceIn | None = None
    llm: LlmSettingsIn | None = None
    callSettings: CallSettingsIn | None = None
    tools: Annotated[list[ToolIn], Field(max_length=100)] | None = None
    knowledgeBaseItemsIds: Ids | None = None
    voiceDictionaryIds: Ids | None = None
    webhookUrl: Annotated[str, Field(max_length=2000)] | None = None
    webhookAuth: AgentWebhookAuth | None = None
    workflow: WorkflowIn | None = None
    outcome: LongText | None = None
    outcomeResponseShape: JsonObject | None = None
    isTemplate: bool | None = None
    icon: Annotated[str, Field(max_length=2000)] | None = None
    collectionId: ShortText | None = None
    realTime: bool | None = None
    webToolsOverrides: JsonObject | None = None

    def changes(self) -> AgentChanges:
        sent = self.model_fields_set
        changes = AgentChanges()
        if "name" in sent:
            changes.name = self.name
        _common_changes(self, changes)
        if "conversation" in sent and self.conversation is not None:
            _common_changes(self.conversation, changes)
        if "voice" in sent and self.voice is not None:
            voice, given = self.voice, self.voice.model_fields_set
            if "voiceId" in given or "voiceRecordId" in given:
                changes.voice = voice.voiceId or voice.voiceRecordId or ""
            if "lang" in given:
                changes.lang = voice.lang
            if "ttsParams" in given:
                changes.config["ttsParams"] = voice.ttsParams
        if "callSettings" in sent and self.callSettings is not None:
            settings = self.callSettings
            for name in settings.model_fields_set:
                changes.config[name] = getattr(settings, name)
        if "llm" in sent:
            _llm_changes(self.llm, changes)
        if "tools" in sent:
            changes.web_tools = [
                ToolRef(reference=t.persistentId or t.toolId or "", version=t.version,
                        node_id=t.nodeId, overrides=t.overrides) for t in self.tools or []]
        if "workflow" in sent:
            changes.config["workflow"] = (None if self.workflow is None
                                          else self.workflow.model_dump())
        return changes


class AgentV2Create(AgentV2Body):
    """POST /v2/voice-agents: ``name`` is required."""

    name: AgentName


# ---- answers -------------------------------------------------------------------------------

class VoiceRecord(ResponseModel):
    id: str
    name: str
    provider: str
    language: str
    image: str | None = None
    languageCode: str


class WebhookAuthPublic(ResponseModel):
    authKey: str | None
    authSecret: str | None  # masked


class LlmV1Public(ResponseModel):
    provider: str | None
    modelName: str | None
    baseUrl: str | None
    apiKey: str | None  # masked: "sk-…last4"
    temperature: Number


class LlmV2Public(ResponseModel):
    provider: str | None
    model: str | None
    temperature: Number
    baseUrl: str | None
    apiKey: str | None  # masked


def _voice_record(view: AgentView) -> VoiceRecord | None:
    voice = view.voice
    if voice is None:
        return None
    return VoiceRecord(id=voice.id, name=voice.name, provider="hams", language=voice.language,
                       languageCode=voice.dialect)


def _webhook_auth(view: AgentView) -> WebhookAuthPublic | None:
    if not view.webhook_auth_key and not view.webhook_auth_secret_masked:
        return None
    return WebhookAuthPublic(authKey=view.webhook_auth_key,
                             authSecret=view.webhook_auth_secret_masked)


class AgentV1Public(ResponseModel):
    """The flat v1 agent (spec §6.1), every documented field present."""

    id: str
    agentName: str
    greetingMessage: str
    greetingMessageType: str
    description: str | None
    preamble: str
    lang: str
    pokeMessages: list[str]
    realTime: bool
    silenceThreshold: int
    interrupt: bool
    type: str
    outcome: str | None
    outcomeResponseShape: dict[str, Any] | None
    projectId: str
    apiKeyId: str | None
    voiceId: str | None
    voiceRecordId: str | None
    voiceRecord: VoiceRecord | None
    collectionId: str | None
    isTemplate: bool
    icon: str | None
    webhookUrl: str | None
    webhookAuth: WebhookAuthPublic | None
    params: dict[str, Any]
    alignment: dict[str, str]
    tools: dict[str, Any]
    webToolsIds: list[str]
    voiceDictionaryIds: list[str]
    knowledgeBaseItemsIds: list[str]
    webToolsOverrides: dict[str, Any]
    userInactivityTimeout: Number
    maxCallDuration: Number
    responseDelay: Number
    backgroundNoise: bool
    waitForUserToSpeakFirst: bool
    thinkingVoice: bool
    speakerIdentification: bool
    llmConfig: LlmV1Public
    noiseCancellation: str
    cancelNoisePer: str
    agenticRag: bool
    languageDialectSwitcher: bool
    minInterruptionDuration: Number
    vadActivationThreshold: Number
    enableAutoGainControl: bool
    sendDenoisedToStt: bool
    createdAt: str | None
    updatedAt: str | None

    @classmethod
    def of(cls, view: AgentView) -> AgentV1Public:
        agent, c = view.agent, view.config
        return cls(
            id=agent.id, agentName=agent.name, greetingMessage=c["greetingMessage"],
            greetingMessageType=c["greetingMessageType"], description=c["description"],
            preamble=c["preamble"], lang=agent.lang, pokeMessages=c["pokeMessages"],
            realTime=c["realTime"], silenceThreshold=c["silenceThreshold"],
            interrupt=c["interrupt"], type=agent.agent_type, outcome=c["outcome"],
            outcomeResponseShape=c["outcomeResponseShape"], projectId=agent.project_id,
            apiKeyId=agent.api_key_id, voiceId=view.voice.id if view.voice else None,
            voiceRecordId=view.voice.id if view.voice else None,
            voiceRecord=_voice_record(view), collectionId=c["collectionId"],
            isTemplate=agent.is_template, icon=c["icon"], webhookUrl=c["webhookUrl"],
            webhookAuth=_webhook_auth(view), params=view.params,
            alignment=c["alignment"],
            tools={**c["toolExtras"], "genderDetection": c["genderDetection"],
                   "smartCallEnd": c["smartCallEnd"]},
            webToolsIds=[t.v1_reference for t in view.tools],
            voiceDictionaryIds=c["voiceDictionaryIds"],
            knowledgeBaseItemsIds=view.knowledge_item_ids,
            webToolsOverrides=c["webToolsOverrides"],
            llmConfig=LlmV1Public(provider=c["llm"]["provider"], modelName=c["llm"]["model"],
                                  baseUrl=c["llm"]["baseUrl"], apiKey=view.llm_api_key_masked,
                                  temperature=c["llm"]["temperature"]),
            noiseCancellation=c["noiseCancellation"],
            **{name: c[name] for name in (
                "userInactivityTimeout", "maxCallDuration", "responseDelay", "backgroundNoise",
                "waitForUserToSpeakFirst", "thinkingVoice", "speakerIdentification",
                "cancelNoisePer", "agenticRag", "languageDialectSwitcher",
                "minInterruptionDuration", "vadActivationThreshold", "enableAutoGainControl",
                "sendDenoisedToStt")},
            createdAt=iso(agent.created_at), updatedAt=iso(agent.updated_at))


class ConversationPublic(ResponseModel):
    greetingMessage: str
    greetingMessageType: str
    preamble: str
    pokeMessages: list[str]
    params: dict[str, Any]
    alignment: dict[str, str]


class VoicePublic(ResponseModel):
    voiceId: str | None
    voiceRecordId: str | None
    voiceRecord: VoiceRecord | None
    lang: str
    ttsParams: dict[str, Any] | None


class CallSettingsPublic(ResponseModel):
    noiseCancellation: str
    cancelNoisePer: str
    interrupt: bool
    responseDelay: Number
    minInterruptionDuration: Number
    vadActivationThreshold: Number
    userInactivityTimeout: Number
    maxCallDuration: Number
    silenceThreshold: int
    backgroundNoise: bool
    enableAutoGainControl: bool
    sendDenoisedToStt: bool
    waitForUserToSpeakFirst: bool
    thinkingVoice: bool
    speakerIdentification: bool
    agenticRag: bool
    languageDialectSwitcher: bool
    genderDetection: bool
    smartCallEnd: bool


class ToolPublic(ResponseModel):
    persistentId: str
    toolId: str | None  # the version in use
    version: int | None  # null: the agent follows the tool's latest version
    toolType: str | None
    nodeId: str | None
    testResult: Any = None
    overrides: dict[str, Any] | None


class ResolvedWebTool(ResponseModel):
    id: str
    persistentId: str
    version: int
    name: str
    type: str
    description: str | None
    isActive: bool


class PhoneNumberRef(ResponseModel):
    type: str
    id: str
    number: str


class AgentV2Public(ResponseModel):
    """The nested v2 agent (spec §6.2), plus v1's fields that v2 does not nest (description,
    outcome, isTemplate, icon, collectionId, realTime, webToolsOverrides), so a round trip
    through either version loses nothing."""

    id: str
    type: str
    name: str
    description: str | None
    conversation: ConversationPublic
    voice: VoicePublic
    llm: LlmV2Public
    callSettings: CallSettingsPublic
    tools: list[ToolPublic]
    knowledgeBaseItemsIds: list[str]
    voiceDictionaryIds: list[str]
    phoneNumber: PhoneNumberRef | None
    webhookUrl: str | None
    webhookAuth: WebhookAuthPublic | None
    workflow: dict[str, Any] | None
    outcome: str | None
    outcomeResponseShape: dict[str, Any] | None
    resolvedWebTools: list[ResolvedWebTool]
    isTemplate: bool
    icon: str | None
    collectionId: str | None
    realTime: bool
    webToolsOverrides: dict[str, Any]
    projectId: str
    apiKeyId: str | None
    createdAt: str | None
    updatedAt: str | None
    account: dict[str, Any]

    @classmethod
    def of(cls, view: AgentView) -> AgentV2Public:
        agent, c = view.agent, view.config
        voice_id = view.voice.id if view.voice else None
        number = view.phone_number
        return cls(
            id=agent.id, type=agent.agent_type, name=agent.name, description=c["description"],
            conversation=ConversationPublic(
                greetingMessage=c["greetingMessage"],
                greetingMessageType=c["greetingMessageType"], preamble=c["preamble"],
                pokeMessages=c["pokeMessages"], params=view.params, alignment=c["alignment"]),
            voice=VoicePublic(voiceId=voice_id, voiceRecordId=voice_id,
                              voiceRecord=_voice_record(view), lang=agent.lang,
                              ttsParams=c["ttsParams"]),
            llm=LlmV2Public(provider=c["llm"]["provider"], model=c["llm"]["model"],
                            temperature=c["llm"]["temperature"], baseUrl=c["llm"]["baseUrl"],
                            apiKey=view.llm_api_key_masked),
            callSettings=CallSettingsPublic(**{
                name: c[name] for name in CallSettingsPublic.model_fields}),
            tools=[ToolPublic(persistentId=t.persistent_id,
                              toolId=t.tool.id if t.tool else None, version=t.version,
                              toolType=t.tool.type if t.tool else None, nodeId=t.node_id,
                              overrides=t.overrides) for t in view.tools],
            knowledgeBaseItemsIds=view.knowledge_item_ids,
            voiceDictionaryIds=c["voiceDictionaryIds"],
            phoneNumber=(PhoneNumberRef(type=number.type, id=number.id, number=number.number)
                         if number else None),
            webhookUrl=c["webhookUrl"], webhookAuth=_webhook_auth(view),
            workflow=c["workflow"], outcome=c["outcome"],
            outcomeResponseShape=c["outcomeResponseShape"],
            resolvedWebTools=[
                ResolvedWebTool(id=t.tool.id, persistentId=t.tool.persistent_id,
                                version=t.tool.version, name=t.tool.name, type=t.tool.type,
                                description=t.tool.description, isActive=t.tool.is_active)
                for t in view.tools if t.tool is not None],
            isTemplate=agent.is_template, icon=c["icon"], collectionId=c["collectionId"],
            realTime=c["realTime"], webToolsOverrides=c["webToolsOverrides"],
            projectId=agent.project_id, apiKeyId=agent.api_key_id,
            createdAt=iso(agent.created_at), updatedAt=iso(agent.updated_at),
            account={"plan": "self-hosted"})


class AgentsPageV1(ResponseModel):
    total: int
    filtered: int
    voiceAgents: list[AgentV1Public]


class AgentsPageV2(ResponseModel):
    total: int
    filtered: int
    voiceAgents: list[AgentV2Public]


class AgentDeleted(ResponseModel):
    id: str
