"""``LlmEngine``: writes every part through an OpenAI-compatible chat endpoint, one request per
part and language, after condensing a transcript too long for ``max_input_chars`` into notes.

Its own module because this is the engine Protocol's face: the settings it is built from,
what it refuses, and the order of the requests it makes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from hams.engines.text import (
    AI_PARTS,
    CONTENT_LANGUAGES,
    ContentRequest,
    ContentResult,
    PartRequest,
    output_languages,
)
from hams.engines.text.llm.budget import (
    MANY_CHUNKS,
    MAX_CONDENSE_ROUNDS,
    MIN_SOURCE_SHARE,
    Budget,
    longest_field,
    message_chars,
    split_text,
)
from hams.engines.text.llm.prompts import (
    INSTRUCTIONS,
    LANGUAGE_NAMES,
    NOTES_INSTRUCTION,
    SOURCES,
    chat_messages,
)
from hams.engines.text.llm.transport import ChatCalls, ChatEndpoint
from hams.errors import BadRequest, EngineUnavailable, HamsError

if TYPE_CHECKING:
    from hams.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_TEMPERATURE = 0.3
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_INPUT_CHARS = 12000


class LlmEngine:
    """Writes every content part, in Arabic or English, through an OpenAI-compatible endpoint.

    The engine keeps no state between calls, so one instance serves every worker thread; each
    ``generate`` opens and closes its own HTTP client.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
        json_mode: bool = True,
        retry_base_seconds: float = 1.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"llm:{model}"
        self.temperature = temperature
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_input_chars = max_input_chars
        self.json_mode = json_mode
        self.retry_base_seconds = retry_base_seconds
        self._api_key = api_key or None
        self._url = f"{self.base_url}/chat/completions"
        # For messages: the endpoint without any user:password it may carry.
        self._shown_url = str(httpx.URL(self._url).copy_with(userinfo=b""))

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmEngine:
        """The engine the HAMS_LLM_* settings describe."""
        if not settings.llm_base_url or not settings.llm_model:
            raise EngineUnavailable(
                "AI content through a language model needs HAMS_LLM_BASE_URL and HAMS_LLM_MODEL"
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            api_key=key,
            temperature=settings.llm_temperature,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            max_input_chars=settings.llm_max_input_chars,
            json_mode=settings.llm_json_mode,
        )

    def refusal(self, part: str, request: PartRequest, transcript_language: str) -> str | None:
        """None for every known part and language: the model writes them all."""
        if part not in AI_PARTS:
            return f"unknown AI content part '{part}'; known parts: {', '.join(AI_PARTS)}"
        if request.language not in CONTENT_LANGUAGES:
            return (f"unknown AI content language '{request.language}'; use one of "
                    f"{', '.join(CONTENT_LANGUAGES)}")
        return None

    def check(self, request: ContentRequest) -> None:
        """At submission: the prompts, title and instructions must leave room for the
        transcript within ``max_input_chars`` (the same test ``generate`` makes)."""
        if not request.transcript.strip():  # not transcribed yet: it may be long
            request = replace(request, transcript="x" * (self.max_input_chars + 1))
        self._budget(request)

    def generate(self, request: ContentRequest) -> ContentResult:
        """Write each requested part, one chat request per part and output language.

        BadRequest, before any request, when the parts, the transcript or the space
        ``max_input_chars`` leaves for the transcript cannot work. An error raised once requests
        have begun (ContentGenerationFailed, ServiceUnavailable) carries the attribute
        ``usage``: ``(prompt_tokens, completion_tokens)`` summed over every answer received
        before it, each None when no answer reported it.
        """
        for part, part_request in request.parts.items():
            reason = self.refusal(part, part_request, request.transcript_language)
            if reason:
                raise BadRequest(reason)
        if not request.transcript.strip():
            raise BadRequest("the transcript is empty: there is nothing to write content from")
        budget = self._budget(request)
        with httpx.Client(timeout=self.timeout, headers=self._headers()) as client:
            call = ChatCalls(self._endpoint(), client, max_retries=self.max_retries,
                             retry_base_seconds=self.retry_base_seconds)
            try:
                source, kind, notes = self._condense(call, request, budget)
                parts: dict[str, str] = {}
                for part, part_request in request.parts.items():
                    texts = [
                        call.ask(part, self._part_messages(part, part_request, language,
                                                           request, source, kind))
                        for language in output_languages(part_request.language)
                    ]
                    parts[part] = "\n\n".join(texts)
            except HamsError as exc:
                exc.usage = (call.prompt_tokens, call.completion_tokens)
                raise
        return ContentResult(parts=parts, prompt_tokens=call.prompt_tokens,
                             completion_tokens=call.completion_tokens, notes=notes)

    # --- prompts -------------------------------------------------------------------------

    def _part_messages(self, part: str, part_request: PartRequest, language: str,
                       request: ContentRequest, source: str, kind: str) -> list[dict]:
        """System and user messages for one part in one language."""
        task = (part_request.prompt or "").strip() or INSTRUCTIONS[part]
        details = []
        if request.title:
            details.append(f"Title: {request.title}")
        if request.date:
            details.append(f"Date: {request.date}")
        if request.instructions:
            details.append(f"Additional instructions: {request.instructions}")
        return chat_messages(part, LANGUAGE_NAMES[language], task, details, kind, source)

    def _notes_messages(self, chunk: str, index: int, count: int, language: str,
                        kind: str) -> list[dict]:
        """Messages asking for notes on one chunk, in the transcript's own language."""
        task = NOTES_INSTRUCTION.format(index=index, count=count, source=SOURCES[kind][0])
        language_name = LANGUAGE_NAMES.get(language, "the language of the transcript")
        return chat_messages("notes", language_name, task, [], kind, chunk)

    # --- long transcripts ----------------------------------------------------------------

    def _budget(self, request: ContentRequest) -> Budget:
        """How much transcript (or notes) each request of this job can carry.

        The message text of a request, system and user message together, must stay within
        ``max_input_chars``. What the largest request of each kind holds besides its source
        (system message, instruction or custom prompt, title, date, additional instructions,
        markers) is set aside, and the source gets the rest. BadRequest when that rest is under
        MIN_SOURCE_SHARE of the budget and the transcript does not fit in it.
        """
        part_overhead = max(
            message_chars(self._part_messages(part, part_request, language, request, "", kind))
            for part, part_request in request.parts.items()
            for language in output_languages(part_request.language)
            for kind in SOURCES
        )
        notes_overhead = max(
            message_chars(self._notes_messages("", MANY_CHUNKS, MANY_CHUNKS,
                                               request.transcript_language, kind))
            for kind in SOURCES
        )
        budget = Budget(self.max_input_chars - part_overhead,
                        self.max_input_chars - notes_overhead)
        minimum = math.ceil(self.max_input_chars * MIN_SOURCE_SHARE)
        size = len(request.transcript.strip())
        if size <= budget.source:
            return budget  # fits as it is; nothing to condense
        setting = f"HAMS_LLM_MAX_INPUT_CHARS={self.max_input_chars}"
        if budget.source < minimum:
            blame, length = longest_field(request)
            taken = (f"the system message, task, title, date and instructions take "
                     f"{part_overhead} of the {self.max_input_chars} characters a request may "
                     f"hold, leaving {max(budget.source, 0)} for a transcript of {size}, "
                     f"under the {minimum} it needs at least")
            if budget.source + length >= minimum:  # the field alone makes the difference
                raise BadRequest(f"{blame} ({length} characters) is too long for {setting}: "
                                 f"{taken}; shorten it or raise HAMS_LLM_MAX_INPUT_CHARS")
            raise BadRequest(f"{setting} is too small for this request: {taken}; raise "
                             "HAMS_LLM_MAX_INPUT_CHARS or shorten the custom prompts, title "
                             "and instructions")
        if budget.chunk < minimum:
            raise BadRequest(
                f"{setting} is too small to condense a long transcript: a request for notes "
                f"takes {notes_overhead} characters besides the transcript, leaving "
                f"{max(budget.chunk, 0)}, under the {minimum} a chunk needs at least; raise "
                "HAMS_LLM_MAX_INPUT_CHARS")
        return budget

    def _condense(self, call: ChatCalls, request: ContentRequest,
                  budget: Budget) -> tuple[str, str, list[str]]:
        """The text every part is written from, its kind (see SOURCES), and how it was made.

        A transcript that fits is used as it is. A longer one is replaced by the model's notes
        on each chunk, and those notes by notes of their own while they are still too long.
        """
        source, kind, notes = request.transcript.strip(), "transcript", []
        for _ in range(MAX_CONDENSE_ROUNDS):
            if len(source) <= budget.source:
                return source, kind, notes
            chunks = split_text(source, budget.chunk)
            condensed = "\n\n".join(
                call.ask("notes", self._notes_messages(chunk, index, len(chunks),
                                                       request.transcript_language, kind))
                for index, chunk in enumerate(chunks, 1)
            )
            notes.append(f"{kind} condensed from {len(chunks)} chunks")
            logger.info("%s of %d characters condensed from %d chunks to %d characters",
                        kind, len(source), len(chunks), len(condensed))
            if len(condensed) >= len(source):
                break  # the model is not shrinking it; more rounds would not help
            source, kind = condensed, "notes"
        if len(source) > budget.source:
            source = source[: budget.source]
            notes.append(f"{kind} cut to the first {budget.source} characters")
        return source, kind, notes

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _endpoint(self) -> ChatEndpoint:
        """Where this job's requests go and what they carry, as the engine is set now."""
        return ChatEndpoint(self._url, self._shown_url, self.model, self.temperature,
                            self.json_mode)
