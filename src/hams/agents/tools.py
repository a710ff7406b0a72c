"""The tools a conversation offers its LLM, each a Pipecat function handler:

- the SDK's **client tools**, called over the socket (a ``tools`` event) while the call waits
  for the SDK's ``tools_response``, at most HAMS_AGENT_TOOL_TIMEOUT_SECONDS (the LLM is told
  so in its instructions, and gets a timeout error as the result after it);
- the agent's **web tools**, called server-side through the SSRF guard, their REQUEST_START
  message spoken while they run and REQUEST_FAILED when they fail;
- **search_knowledge_base** over the agent's knowledge items (hybrid retrieval), when the
  agent has ``agenticRag`` (otherwise ``KnowledgeContext`` adds the chunks to every turn);
- **end_call**, when the agent has ``smartCallEnd``.

Every call is reported to ``ToolLog`` with its arguments, result and duration.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.frames.frames import (
    EndTaskFrame,
    FunctionCallResultProperties,
    OutputTransportMessageUrgentFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import FunctionCallParams, LLMService
from starlette.concurrency import run_in_threadpool

from hams.db.models import WebTool
from hams.db.session import Database
from hams.errors import HamsError
from hams.sealing import SecretBox
from hams.services.keys import Principal
from hams.services.knowledge_search import EmbedderSource, SearchQuery, search
from hams.services.web_tool_calls import call_web_tool
from hams.services.web_tools import function_name
from hams.settings import Settings

KB_FUNCTION = "search_knowledge_base"
END_FUNCTION = "end_call"
KB_TOP_K = 4
MAX_RESULT_CHARS = 4000  # what the LLM reads of one tool's answer


@dataclass(frozen=True)
class ToolCallRecord:
    kind: str  # client | web | knowledge | end
    name: str
    arguments: dict[str, Any]
    result: Any
    duration_ms: float
    error: str | None = None


ToolLog = Callable[[ToolCallRecord], Awaitable[None]]


class ClientToolBridge:
    """Client tool calls waiting for the SDK's answers, by call id."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._waiting: dict[str, asyncio.Future[Any]] = {}

    async def call(self, params: FunctionCallParams) -> Any:
        call_id = params.tool_call_id or f"call_{uuid.uuid4().hex[:16]}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        message = {"event": "tools", "content": [{
            "id": call_id, "type": "function", "function": {
                "name": params.function_name,
                "arguments": json.dumps(params.arguments or {}, ensure_ascii=False)}}]}
        await params.llm.push_frame(OutputTransportMessageUrgentFrame(message=message))
        try:
            return await asyncio.wait_for(future, self.timeout)
        finally:
            self._waiting.pop(call_id, None)

    def answered(self, responses: Any) -> int:
        """The SDK's ``tools_response`` list: resolves the calls it answers; returns how many."""
        resolved = 0
        for response in responses if isinstance(responses, list) else []:
            if not isinstance(response, dict):
                continue
            future = self._waiting.get(str(response.get("id")))
            function = response.get("function") if isinstance(response.get("function"),
                                                               dict) else {}
            if future is not None and not future.done():
                future.set_result(function.get("response"))
                resolved += 1
        return resolved

    def cancel_all(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.cancel()


@dataclass
class ToolKit:
    """Everything a conversation's tools need (see the module docstring)."""

    db: Database
    principal: Principal
    settings: Settings
    secrets: SecretBox
    embedder: EmbedderSource
    log: ToolLog
    client: ClientToolBridge
    end_call: Callable[[], Awaitable[None]]
    say: Callable[[str], Awaitable[None]]  # speak as the agent, shown as an answer event


def tool_schemas(*, client_tools: tuple[dict[str, Any], ...], web_tools: list[WebTool],
                 agentic_rag: bool, knowledge_items: tuple[str, ...],
                 smart_call_end: bool) -> list[FunctionSchema]:
    schemas = []
    for tool in client_tools:
        function = tool["function"]
        parameters = function.get("parameters") or {}
        schemas.append(FunctionSchema(
            name=function["name"], description=function.get("description") or "",
            properties=parameters.get("properties") or {},
            required=list(parameters.get("required") or [])))
    for tool in web_tools:
        parameters = tool.params or {}
        schemas.append(FunctionSchema(
            name=function_name(tool), description=tool.description or tool.name,
            properties=parameters.get("properties") or {},
            required=list(parameters.get("required") or [])))
    if agentic_rag and knowledge_items:
        schemas.append(FunctionSchema(
            name=KB_FUNCTION, description="Search the knowledge base for facts to answer the "
            "caller; use it before answering questions about the business.",
            properties={"query": {"type": "string", "description": "What to look up"}},
            required=["query"]))
    if smart_call_end:
        schemas.append(FunctionSchema(
            name=END_FUNCTION, description="End the call once the conversation is over (the "
            "caller said goodbye or has nothing more); say goodbye first.",
            properties={"reason": {"type": "string", "description": "Why the call ends"}},
            required=[]))
    return schemas


def register_tools(llm: LLMService, kit: ToolKit, *, client_tools: tuple[dict[str, Any], ...],
                   web_tools: list[WebTool], knowledge_items: tuple[str, ...],
                   agentic_rag: bool, smart_call_end: bool) -> None:
    for tool in client_tools:
        llm.register_function(tool["function"]["name"], _client_handler(kit))
    for tool in web_tools:
        llm.register_function(function_name(tool), _web_handler(kit, tool))
    if agentic_rag and knowledge_items:
        llm.register_function(KB_FUNCTION, _knowledge_handler(kit, knowledge_items))
    if smart_call_end:
        llm.register_function(END_FUNCTION, _end_handler(kit))


def _client_handler(kit: ToolKit) -> Callable[[FunctionCallParams], Awaitable[None]]:
    async def handle(params: FunctionCallParams) -> None:
        started = time.monotonic()
        error = None
        try:
            result = await kit.client.call(params)
        except TimeoutError:
            error = (f"The client did not answer within {kit.client.timeout:g} s; tell the "
                     "caller it could not be done now")
            result = {"error": error}
        except asyncio.CancelledError:
            raise
        await _finish(kit, params, "client", result, started, error)

    return handle


def _web_handler(kit: ToolKit, tool: WebTool) -> Callable[[FunctionCallParams], Awaitable[None]]:
    spoken = {m.get("type", "").upper(): m.get("content") for m in tool.messages or []}

    async def handle(params: FunctionCallParams) -> None:
        started = time.monotonic()
        if spoken.get("REQUEST_START"):
            await kit.say(spoken["REQUEST_START"])
        error = None
        try:
            answer = await run_in_threadpool(call_web_tool, tool, dict(params.arguments or {}),
                                             settings=kit.settings, secrets=kit.secrets)
            result: Any = {"ok": answer.ok, "status": answer.status,
                           "body": (answer.body or "")[:MAX_RESULT_CHARS]}
            error = None if answer.ok else (answer.error or "the tool failed")
        except HamsError as exc:
            error = exc.message
            result = {"ok": False, "error": error}
        if error and spoken.get("REQUEST_FAILED"):
            await kit.say(spoken["REQUEST_FAILED"])
        await _finish(kit, params, "web", result, started, error)

    return handle


def _knowledge_handler(kit: ToolKit, items: tuple[str, ...]
                       ) -> Callable[[FunctionCallParams], Awaitable[None]]:
    async def handle(params: FunctionCallParams) -> None:
        started = time.monotonic()
        query = str((params.arguments or {}).get("query") or "").strip()
        excerpts = await knowledge_excerpts(kit, query, items) if query else []
        await _finish(kit, params, "knowledge", {"excerpts": excerpts}, started, None)

    return handle


def _end_handler(kit: ToolKit) -> Callable[[FunctionCallParams], Awaitable[None]]:
    async def handle(params: FunctionCallParams) -> None:
        started = time.monotonic()
        await _finish(kit, params, "end", {"ended": True}, started, None, run_llm=False)
        await params.llm.push_frame(EndTaskFrame(reason="smartCallEnd"),
                                    FrameDirection.UPSTREAM)
        await kit.end_call()

    return handle


async def knowledge_excerpts(kit: ToolKit, query: str, items: tuple[str, ...]) -> list[str]:
    """The best chunks of the agent's items for ``query`` (hybrid: BM25 + embeddings)."""
    answer = await run_in_threadpool(
        search, kit.db, kit.principal, SearchQuery(text=query[:1000], item_ids=items,
                                                   top_k=KB_TOP_K),
        settings=kit.settings, embedder=kit.embedder)
    return [hit.chunk.text for hit in answer.hits]


async def _finish(kit: ToolKit, params: FunctionCallParams, kind: str, result: Any,
                  started: float, error: str | None, *, run_llm: bool | None = None) -> None:
    duration = (time.monotonic() - started) * 1000
    await kit.log(ToolCallRecord(kind, params.function_name, dict(params.arguments or {}),
                                 result, round(duration, 1), error))
    properties = FunctionCallResultProperties(run_llm=run_llm) if run_llm is not None else None
    await params.result_callback(result, properties=properties)
