"""One conversation's Pipecat pipeline, assembled in one place from an agent's plan:

    SDK socket in → control → hams STT → user turn (Silero VAD + Smart Turn v3) → knowledge
    and response delay → OpenAI-compatible LLM (tools) → hams TTS → SDK socket out
    → recording → assistant turn

The transport and serializer are at the edges, so a phone stream can take the socket's place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import WebSocket
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMAssistantAggregator,
    LLMContextAggregatorPair,
    LLMUserAggregator,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)
from pipecat.turns.user_mute import AlwaysUserMuteStrategy
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from hams.agents.processors import BargeInStart, ConversationControl, TurnPreparation
from hams.agents.recorder import TurnObserver
from hams.agents.serializer import SAMPLE_RATE, HamsaSdkSerializer
from hams.agents.services import HamsSTTService, HamsTTSService, SpeechUsage
from hams.agents.tools import ToolKit, register_tools, tool_schemas
from hams.db.models import Voice, WebTool
from hams.engines.models import SttModels
from hams.engines.pool import InferencePool
from hams.engines.voices import TtsEngines
from hams.services.agent_runtime import ConversationPlan
from hams.settings import Settings

VAD_STOP_SECONDS = 0.2  # Smart Turn decides at this pause; silenceThreshold is its limit
VAD_START_SECONDS = 0.2  # speech that starts a turn (longer over the agent: BargeInStart)
RECORDING_CHUNK_BYTES = SAMPLE_RATE * 2 * 2  # one second of 16 kHz stereo PCM16


@dataclass(frozen=True)
class Engines:
    """The per-process parts a conversation's services run on."""

    settings: Settings
    models: SttModels
    tts: TtsEngines
    pool: InferencePool


@dataclass
class AgentPipeline:
    worker: PipelineWorker
    transport: FastAPIWebsocketTransport
    context: LLMContext
    user: LLMUserAggregator
    assistant: LLMAssistantAggregator
    audio: AudioBufferProcessor
    observer: TurnObserver
    usage: SpeechUsage
    stt_model: str
    tts_model: str


def system_prompt(plan: ConversationPlan, *, tool_timeout: float) -> str:
    """The preamble, then what hams adds: spoken replies, and how client tools behave."""
    parts = [plan.system_prompt or "You are a helpful voice assistant."]
    parts.append("Your replies are spoken aloud: answer in short sentences, without lists, "
                 "markdown or emojis." + (" Reply in Arabic." if plan.lang == "ar" else ""))
    if plan.client_tools:
        parts.append(f"Tools run on the caller's device; each answers within {tool_timeout:g} "
                     "seconds or returns an error saying it timed out.")
    return "\n\n".join(parts)


def catalog_voice(plan: ConversationPlan) -> Voice:
    v = plan.voice
    return Voice(id=v.id, name=v.name, language=v.language, dialect=v.dialect,
                 engine=v.engine, engine_voice=v.engine_voice)


@dataclass(frozen=True)
class Analyzers:
    """A call's VAD and turn model: ONNX sessions, built on a thread (``make_analyzers``)."""

    vad: SileroVADAnalyzer
    turn: LocalSmartTurnAnalyzerV3


def make_analyzers(plan: ConversationPlan) -> Analyzers:
    """Silero VAD (``vadActivationThreshold``) and Smart Turn v3 (``silenceThreshold`` its
    longest wait); loading their models blocks, so this runs off the event loop."""
    return Analyzers(
        SileroVADAnalyzer(params=VADParams(confidence=plan.vad_threshold,
                                           start_secs=VAD_START_SECONDS,
                                           stop_secs=VAD_STOP_SECONDS)),
        LocalSmartTurnAnalyzerV3(params=SmartTurnParams(
            stop_secs=max(plan.silence_seconds, VAD_STOP_SECONDS))))


def build_pipeline(websocket: WebSocket, plan: ConversationPlan, engines: Engines, *,
                   analyzers: Analyzers,
                   web_tools: list[WebTool], replacements: dict[str, str], kit: ToolKit,
                   on_stop: Callable[[], Awaitable[None]],
                   on_mark: Callable[[str], Awaitable[None]],
                   on_answer: Callable[[str], Awaitable[None]],
                   on_spoken: Callable[[], Awaitable[None]],
                   excerpts: Callable[[str], Awaitable[list[str]]] | None) -> AgentPipeline:
    settings = engines.settings
    usage = SpeechUsage()
    transport = FastAPIWebsocketTransport(websocket, FastAPIWebsocketParams(
        audio_in_enabled=True, audio_out_enabled=True, audio_in_sample_rate=SAMPLE_RATE,
        audio_out_sample_rate=SAMPLE_RATE, add_wav_header=False,
        serializer=HamsaSdkSerializer(), session_timeout=None))
    stt = HamsSTTService(model=settings.agent_stt_model, language=plan.lang, settings=settings,
                         models=engines.models, pool=engines.pool, usage=usage)
    voice = catalog_voice(plan)
    tts = HamsTTSService(voice=voice, replacements=replacements, settings=settings,
                         engines=engines.tts, pool=engines.pool, usage=usage)
    llm = OpenAILLMService(
        api_key=plan.llm.api_key or "not-needed", base_url=plan.llm.base_url,
        settings=OpenAILLMService.Settings(
            model=plan.llm.model, temperature=plan.llm.temperature,
            system_instruction=system_prompt(
                plan, tool_timeout=settings.agent_tool_timeout_seconds)))
    schemas = tool_schemas(client_tools=plan.client_tools, web_tools=web_tools,
                           agentic_rag=plan.agentic_rag, knowledge_items=plan.knowledge_item_ids,
                           smart_call_end=plan.smart_call_end)
    register_tools(llm, kit, client_tools=plan.client_tools, web_tools=web_tools,
                   knowledge_items=plan.knowledge_item_ids, agentic_rag=plan.agentic_rag,
                   smart_call_end=plan.smart_call_end)
    context = (LLMContext(tools=ToolsSchema(standard_tools=schemas)) if schemas
               else LLMContext())
    user, assistant = LLMContextAggregatorPair(context, user_params=LLMUserAggregatorParams(
        vad_analyzer=analyzers.vad,
        user_turn_strategies=UserTurnStrategies(
            start=[BargeInStart(min_seconds=plan.min_interruption_seconds,
                                vad_start_seconds=VAD_START_SECONDS)],
            stop=[TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzers.turn)]),
        user_mute_strategies=[] if plan.interrupt else [AlwaysUserMuteStrategy()],
        user_idle_timeout=plan.inactivity_seconds if plan.poke_messages or
        plan.inactivity_seconds else 0))
    audio = AudioBufferProcessor(sample_rate=SAMPLE_RATE, num_channels=2,
                                 buffer_size=RECORDING_CHUNK_BYTES)
    control = ConversationControl(tools=kit.client, on_stop=on_stop, on_mark=on_mark)
    preparation = TurnPreparation(response_delay=plan.response_delay_seconds,
                                  excerpts=excerpts)
    pipeline = Pipeline([transport.input(), control, stt, user, preparation, llm, tts,
                         transport.output(), audio, assistant])
    observer = TurnObserver(on_answer, on_spoken)
    worker = PipelineWorker(
        pipeline, params=PipelineParams(audio_in_sample_rate=SAMPLE_RATE,
                                        audio_out_sample_rate=SAMPLE_RATE, enable_metrics=True,
                                        enable_usage_metrics=True),
        observers=[observer], idle_timeout_secs=None, enable_rtvi=False,
        conversation_id=plan.job_id)
    return AgentPipeline(worker, transport, context, user, assistant, audio, observer, usage,
                         stt_model=settings.agent_stt_model, tts_model=voice.engine)

