"""After a voice-agent conversation: the internal ``CONVERSATION_ANALYSIS`` job that
``end_conversation`` queues. It extracts the agent's ``outcome`` (validated against its
``outcomeResponseShape``) into the conversation's ``jobResponse``, writes ``callAnalysis``
(summary and sentiment), and queues ``call.ended`` once.

With an LLM (the agent's, else HAMS_LLM_*): one chat request for a JSON object
``{summary, sentiment, outcome}``; an answer that does not validate is sent back once with the
errors, and an outcome still invalid is stored as null with ``callAnalysis.outcomeError``.
Without one: an extractive summary of the transcript, sentiment ``neutral``, no outcome, and
``callAnalysis.analysisSource`` says so.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema_rs
from sqlalchemy import select

from hams.db.models import Conversation, ConversationLog, Job, VoiceAgent
from hams.engines.text import ContentRequest, PartRequest
from hams.engines.text.extractive import ExtractiveEngine
from hams.engines.text.llm.answers import excerpt
from hams.engines.text.llm.transport import ChatCalls, ChatEndpoint
from hams.errors import ContentGenerationFailed, HamsError
from hams.services import conversation_webhooks as events
from hams.services.agent_runtime import LlmEndpoint, agent_llm
from hams.services.links import FileLinks
from hams.services.voice_agents import merged_config
from hams.services.voices import is_arabic
from hams.services.web_tools import params_validator
from hams.worker.outcome import JobOutcome

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hams.db.session import Database
    from hams.sealing import SecretBox
    from hams.settings import Settings

log = logging.getLogger(__name__)
SENTIMENTS = ("positive", "neutral", "negative")
JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
SCHEMA_MARKS = ("properties", "$schema", "$ref", "allOf", "anyOf", "oneOf")
FIELD_SCHEMA_MARKS = (*SCHEMA_MARKS, "items", "enum", "const", "description")
FIRST_LINES_CHARS = 300  # a summary without any engine: the call's first lines, this long
MAX_ERRORS_SHOWN = 5
_FENCE = re.compile(r"^```[A-Za-z]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)
_THINKING = re.compile(r"^<think>.*?</think>", re.DOTALL)


# ---- the outcome's shape --------------------------------------------------------------------

def outcome_schema(shape: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON Schema an outcome must meet. ``outcomeResponseShape`` may be a JSON Schema
    (OpenAPI's ``nullable: true`` understood) or a plain ``{field: type or description}`` map,
    nested maps and ``[item]`` lists allowed: then every field is present, null when the call
    did not say."""
    if not shape:
        return {"type": "object"}
    if any(mark in shape for mark in SCHEMA_MARKS) or shape.get("type") == "object":
        return _nullable(shape)
    return _plain_map(shape)


def _plain_map(shape: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {name: _field(value) for name, value in shape.items()},
            "required": list(shape)}


def _field(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        kind = value.strip().lower()
        return {"type": [kind, "null"]} if kind in JSON_TYPES and kind != "null" else (
            {"description": value})
    if isinstance(value, list):
        return {"type": ["array", "null"], **({"items": _field(value[0])} if value else {})}
    if isinstance(value, dict):
        is_schema = (value.get("type") in JSON_TYPES or isinstance(value.get("type"), list)
                     or any(mark in value for mark in FIELD_SCHEMA_MARKS))
        return _nullable(value) if is_schema else {**_plain_map(value),
                                                    "type": ["object", "null"]}
    return {}


def _nullable(schema: Any) -> Any:
    """OpenAPI's ``"nullable": true`` as JSON Schema's ``"type": [t, "null"]``, everywhere."""
    if isinstance(schema, list):
        return [_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: (value if key in ("enum", "const", "default", "examples", "example")
                 else _nullable(value)) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True and isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    return out


# ---- what the job reads ---------------------------------------------------------------------

@dataclass(frozen=True)
class OutcomeAsk:
    """What the agent wants extracted: its ``outcome`` instruction and the shape's schema."""

    instruction: str | None = None
    schema: dict[str, Any] | None = None
    shape_error: str | None = None  # the shape is not a usable JSON Schema

    @property
    def wanted(self) -> bool:
        return bool(self.instruction) or self.schema is not None


@dataclass(frozen=True)
class CallRecord:
    """Everything the analysis and ``call.ended`` need, read in one short transaction."""

    job_id: str
    status: str
    end_reason: str | None
    call_duration: float | None
    params: dict[str, Any]
    turns: list[tuple[str, str]]  # (role, text) of the spoken turns, in order
    transcript: str
    logs: list[dict[str, Any]]
    performance_metrics: dict[str, Any] | None
    media_key: str | None
    base_url: str
    ask: OutcomeAsk
    llm: LlmEndpoint | None
    llm_missing: str | None  # why there is no LLM, when there is none


@dataclass
class Analysis:
    summary: str
    sentiment: str = "neutral"
    source: str = "llm"  # llm | extractive | none
    outcome: dict[str, Any] | None = None
    outcome_error: str | None = None
    error: str | None = None  # the LLM failed: this analysis is the fallback
    model: str | None = None
    tokens: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        found = {"summary": self.summary, "sentiment": self.sentiment,
                 "analysisSource": self.source, "model": self.model,
                 "outcomeError": self.outcome_error, "analysisError": self.error}
        return {key: value for key, value in found.items() if value is not None}


def run_conversation_analysis(db: Database, job: Job, *, settings: Settings,
                              secrets: SecretBox, secret_key: str) -> JobOutcome:
    """The outcome, the analysis and ``call.ended`` of the conversation ``job`` follows.
    Runs again harmlessly: nothing is written once ``call.ended`` was queued."""
    conversation_id = job.relevant_job_id
    with db.session() as session:
        if events.event_queued(session, conversation_id, events.CALL_ENDED):
            return _done(conversation_id, "call.ended was already queued")
        record = _read(session, conversation_id, settings=settings, secrets=secrets)
    if record is None:
        return _done(conversation_id, "the conversation no longer exists")
    analysis = analyse(record, settings=settings,
                       last_attempt=job.attempts >= job.max_attempts)
    with db.session() as session:
        queued = _write(session, record, analysis, settings=settings, secret_key=secret_key)
    response = {"conversationJobId": conversation_id, "outcome": analysis.outcome,
                "callAnalysis": analysis.as_dict(), "callEnded": queued}
    return JobOutcome(job_response=response, usage_seconds=None, total_cost=0.0,
                      usage_tokens=analysis.tokens)


def _done(conversation_id: str | None, why: str) -> JobOutcome:
    return JobOutcome(job_response={"conversationJobId": conversation_id, "skipped": why},
                      usage_seconds=None, total_cost=0.0)


def _read(session: Session, job_id: str | None, *, settings: Settings, secrets: SecretBox
          ) -> CallRecord | None:
    job = session.get(Job, job_id) if job_id else None
    conversation = session.get(Conversation, job_id) if job_id else None
    if job is None or conversation is None:
        return None
    rows = session.scalars(select(ConversationLog).where(ConversationLog.job_id == job_id)
                           .order_by(ConversationLog.seq)).all()
    turns = [(row.role or "user", row.text.strip()) for row in rows
             if row.kind == "turn" and (row.text or "").strip()]
    agent = session.get(VoiceAgent, conversation.voice_agent_id) \
        if conversation.voice_agent_id else None
    llm, missing = _llm_for(agent, settings=settings, secrets=secrets)
    return CallRecord(
        job_id=job.id, status=job.status, end_reason=conversation.end_reason,
        call_duration=conversation.call_duration, params=dict(conversation.params or {}),
        turns=turns, transcript=conversation.transcript or _transcript(turns),
        logs=[_log_entry(row) for row in rows if row.kind in ("turn", "tool")],
        performance_metrics=conversation.performance_metrics, media_key=job.media_key,
        base_url=settings.public_url or (job.options or {}).get("baseUrl", ""),
        ask=_outcome_ask(agent, job), llm=llm, llm_missing=missing)


def _llm_for(agent: VoiceAgent | None, *, settings: Settings, secrets: SecretBox
             ) -> tuple[LlmEndpoint | None, str | None]:
    """The agent's LLM, else the server's (also for a deleted agent), else why there is none."""
    if agent is not None:
        try:
            return agent_llm(agent, settings=settings, secrets=secrets), None
        except HamsError as exc:
            return None, exc.message
    if settings.llm_base_url and settings.llm_model:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return LlmEndpoint(settings.llm_base_url, settings.llm_model, key,
                           settings.llm_temperature, "server"), None
    return None, ("The agent was deleted and the server has no LLM (HAMS_LLM_BASE_URL, "
                  "HAMS_LLM_MODEL)")


def _outcome_ask(agent: VoiceAgent | None, job: Job) -> OutcomeAsk:
    """From the agent, or from the snapshot the conversation kept when it was deleted."""
    if agent is not None:
        config = merged_config(agent)
    else:
        try:
            config = json.loads(job.agent_details or "{}")
        except ValueError:
            config = {}
        config = config if isinstance(config, dict) else {}
    instruction = config.get("outcome") if isinstance(config.get("outcome"), str) else None
    shape = config.get("outcomeResponseShape")
    if not isinstance(shape, dict) or not shape:
        return OutcomeAsk(instruction=(instruction or "").strip() or None,
                          schema={"type": "object"} if instruction else None)
    schema = outcome_schema(shape)
    try:
        params_validator(schema)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        reason = str(getattr(exc, "message", exc)).split("\n", 1)[0]
        return OutcomeAsk(instruction, {"type": "object"},
                          f"the agent's outcomeResponseShape is not a usable JSON Schema "
                          f"({reason}); the outcome was not checked against it")
    return OutcomeAsk(instruction, schema)


def _transcript(turns: list[tuple[str, str]]) -> str:
    return "\n".join(f"{'Agent' if role == 'agent' else 'User'}: {text}"
                     for role, text in turns)


def _log_entry(row: ConversationLog) -> dict[str, Any]:
    """A turn or tool call as the conversation object's ``logs[].payload`` shows it."""
    return {**(row.payload or {}), "kind": row.kind, "role": row.role, "text": row.text,
            "startTime": events.iso(row.started_at), "endTime": events.iso(row.ended_at),
            "interrupted": row.interrupted}


# ---- the analysis ---------------------------------------------------------------------------

def analyse(record: CallRecord, *, settings: Settings, last_attempt: bool) -> Analysis:
    """With the LLM when there is one; a failing LLM fails the attempt (the worker retries)
    except on the last, which falls back to the extractive analysis and says why."""
    if not record.turns and not record.transcript.strip():
        return _without_llm(record, source="none", why="The conversation has no transcript")
    if record.llm is None:
        return _without_llm(record, source="extractive",
                            why=f"No LLM to extract the outcome: {record.llm_missing}")
    try:
        analysis = _with_llm(record, record.llm, settings=settings)
    except HamsError as exc:
        if exc.retryable and not last_attempt:
            raise
        log.warning("conversation %s: analysis by the LLM failed: %s", record.job_id,
                    exc.message)
        analysis = _without_llm(record, source="extractive",
                                why=f"The LLM failed: {exc.message}")
        analysis.error = exc.message
        usage = getattr(exc, "usage", None) or (None, None)
        analysis.tokens = sum(n for n in usage if n) or None
    if record.ask.shape_error and analysis.outcome_error is None:
        analysis.outcome_error = record.ask.shape_error
    return analysis


def _without_llm(record: CallRecord, *, source: str, why: str) -> Analysis:
    summary = extractive_summary(record.turns, record.transcript) if source != "none" else ""
    return Analysis(summary=summary, source=source,
                    outcome_error=why if record.ask.wanted else None)


def extractive_summary(turns: list[tuple[str, str]], transcript: str) -> str:
    """The extractive engine's summary of what was said; its first lines when it cannot."""
    texts = [text for _, text in turns] or [line for line in transcript.splitlines() if line]
    whole = "\n".join(texts)
    language = "ar" if is_arabic(whole) else "en"
    try:
        result = ExtractiveEngine().generate(ContentRequest(
            transcript=whole, transcript_language=language,
            parts={"summary": PartRequest(language=language)}, segments=tuple(texts)))
        summary = result.parts["summary"].strip()
    except HamsError:
        summary = ""
    if summary:
        return summary
    return whole[:FIRST_LINES_CHARS].rstrip() + ("…" if len(whole) > FIRST_LINES_CHARS else "")


class _JsonCalls(ChatCalls):
    """The transport's requests (retries, errors, token counts), answered with raw text."""

    def answer(self, messages: list[dict]) -> str:
        data = self._post(self.endpoint.body(messages)).json()
        self._count_usage(data)
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ContentGenerationFailed(
                "the LLM endpoint's answer is not a chat completion: "
                f"{excerpt(json.dumps(data))}") from exc
        return content if isinstance(content, str) else ""


def _with_llm(record: CallRecord, llm: LlmEndpoint, *, settings: Settings) -> Analysis:
    url = f"{llm.base_url}/chat/completions"
    endpoint = ChatEndpoint(url, str(httpx.URL(url).copy_with(userinfo=b"")), llm.model,
                            llm.temperature, settings.llm_json_mode)
    headers = {"Authorization": f"Bearer {llm.api_key}"} if llm.api_key else {}
    check = AnswerCheck(record.ask)
    messages = _messages(record, settings.llm_max_input_chars)
    with httpx.Client(timeout=settings.llm_timeout, headers=headers) as client:
        calls = _JsonCalls(endpoint, client, max_retries=settings.llm_max_retries,
                           retry_base_seconds=1.0)
        try:
            text = calls.answer(messages)
            answer, errors, outcome_errors = check(text)
            if errors or outcome_errors:
                messages += [{"role": "assistant", "content": text},
                             {"role": "user", "content": _correction(errors + outcome_errors)}]
                text = calls.answer(messages)
                answer, errors, outcome_errors = check(text)
        except HamsError as exc:
            exc.usage = (calls.prompt_tokens, calls.completion_tokens)
            raise
    summary, sentiment = answer.get("summary"), answer.get("sentiment")
    analysis = Analysis(
        summary=summary.strip() if isinstance(summary, str) and summary.strip() else
        extractive_summary(record.turns, record.transcript),
        sentiment=sentiment if sentiment in SENTIMENTS else "neutral", model=llm.model,
        tokens=(calls.prompt_tokens or 0) + (calls.completion_tokens or 0) or None)
    if record.ask.wanted:
        if outcome_errors:
            analysis.outcome_error = "; ".join(outcome_errors)
        else:
            analysis.outcome = answer["outcome"]
    return analysis


class AnswerCheck:
    """What is wrong with a model's answer: the envelope (summary, sentiment) and, against
    its own schema, the outcome. Each error names its place, e.g.
    ``outcome.amount: "x" is not of type "number"``."""

    ENVELOPE = {"type": "object", "required": ["summary", "sentiment"], "properties": {
        "summary": {"type": "string", "minLength": 1}, "sentiment": {"enum": list(SENTIMENTS)}}}

    def __init__(self, ask: OutcomeAsk):
        self.wanted = ask.wanted
        self.envelope = params_validator(self.ENVELOPE)
        self.outcome = params_validator(ask.schema) if ask.wanted else None

    def __call__(self, text: str) -> tuple[dict[str, Any], list[str], list[str]]:
        """(the answer, its envelope's errors, its outcome's errors)."""
        text = _THINKING.sub("", text.strip()).strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        try:
            answer = json.loads(text, strict=False)
        except ValueError:
            answer, why = None, f"the answer is not JSON: {excerpt(text)}"
        else:
            why = None if isinstance(answer, dict) else "the answer is not a JSON object"
        if why:
            return {}, [why], [why] if self.wanted else []
        errors = _errors(self.envelope, answer, "")
        if not self.wanted:
            return answer, errors, []
        if not isinstance(answer.get("outcome"), dict):
            return answer, errors, ['outcome: must be a JSON object']
        return answer, errors, _errors(self.outcome, answer["outcome"], "outcome")


def _errors(validator: Any, instance: Any, prefix: str) -> list[str]:
    found = []
    for error in validator.iter_errors(instance):
        path = ".".join([prefix, *(str(part) for part in error.instance_path)]).strip(".")
        found.append(f"{path or 'the answer'}: {error.message}")
    return found[:MAX_ERRORS_SHOWN]


def _correction(errors: list[str]) -> str:
    return ("Your answer does not validate: " + "; ".join(errors) + ". Answer again with the "
            "whole corrected JSON object only.")


def _messages(record: CallRecord, max_chars: int) -> list[dict]:
    ask = record.ask
    keys = '"summary", "sentiment"' + (', "outcome"' if ask.wanted else "")
    system = [
        "You analyse a finished conversation between a user and a voice agent. Answer with "
        f"one JSON object and nothing else, with the keys {keys}.",
        '"summary": a few sentences on what the conversation was about and how it ended, in '
        "the language of the conversation.",
        '"sentiment": the user\'s overall sentiment, one of "positive", "neutral", "negative".']
    if ask.wanted:
        system.append('"outcome": a JSON object extracted from the conversation'
                      + (f", as this instruction asks: {ask.instruction}"
                         if ask.instruction else "") + ".")
        if ask.schema and ask.schema != {"type": "object"}:
            system.append("The outcome must validate against this JSON Schema; use null for "
                          "a field the conversation does not tell: "
                          + json.dumps(ask.schema, ensure_ascii=False))
    transcript = _transcript(record.turns) or record.transcript  # labelled by role
    if len(transcript) > max_chars:  # keep how it began and how it ended
        half = max_chars // 2
        transcript = f"{transcript[:half]}\n[…]\n{transcript[-half:]}"
    user = (f"Call parameters: {json.dumps(record.params, ensure_ascii=False, default=str)}\n"
            f"Transcript:\n{transcript}")
    return [{"role": "system", "content": "\n".join(system)},
            {"role": "user", "content": user}]


# ---- what the job writes --------------------------------------------------------------------

def _write(session: Session, record: CallRecord, analysis: Analysis, *, settings: Settings,
           secret_key: str) -> str:
    """The outcome, the analysis and ``call.ended``, in one transaction, once."""
    conversation = session.get(Conversation, record.job_id, with_for_update=True)
    job = session.get(Job, record.job_id)
    if conversation is None or job is None:
        return "the conversation no longer exists"
    if events.event_queued(session, record.job_id, events.CALL_ENDED):
        return "already queued"
    if record.ask.wanted:
        job.job_response = analysis.outcome
    conversation.call_analysis = analysis.as_dict()
    recording = (FileLinks(secret_key, settings.signed_url_seconds, record.base_url)
                 .url(record.media_key) if record.media_key else None)
    data = events.call_ended(
        status=record.status, end_reason=record.end_reason, call_duration=record.call_duration,
        transcript=record.transcript, logs=record.logs, recording_url=recording,
        performance_metrics=record.performance_metrics,
        outcome_result={**record.params, **(analysis.outcome or {})},
        call_analysis=analysis.as_dict(), outcome=analysis.outcome)
    delivery = events.enqueue_call_event(session, job, conversation, events.CALL_ENDED, data)
    return "queued" if delivery is not None else "no webhookUrl"
