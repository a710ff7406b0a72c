"""AI content engines: summaries, keywords, titles and posts written from a transcript.

Two engines sit behind one Protocol:

- ``ExtractiveEngine`` (package ``extractive/``) needs no model. It picks sentences and phrases from
  the transcript itself, so it can only write the parts in ``EXTRACTIVE_PARTS``, only in the
  transcript's own language, and cannot follow custom prompts.
- ``LlmEngine`` (package ``llm/``) calls any OpenAI-compatible ``/v1/chat/completions`` endpoint and
  writes every part, in any supported language, following custom prompts.

The service asks ``refusal`` at submission, so a request the configured engine cannot serve
is refused before a job exists, never left half empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

AI_PARTS = (
    "introduction", "titles", "summary", "webArticleSEOFriendly", "keyTopicsWithBullets",
    "keywords", "threadsByInstagram", "faq", "facebookPost", "youtubeDescription",
    "twitterThread", "linkedInPost",
)
EXTRACTIVE_PARTS = frozenset({"summary", "keywords", "keyTopicsWithBullets", "titles",
                              "introduction"})
# Output languages: one language, or both one after the other (v2's aiContentLanguage).
CONTENT_LANGUAGES = ("ar", "en", "both_ar_first", "both_en_first")


def output_languages(language: str) -> tuple[str, ...]:
    """The plain languages a content language stands for, in the order they are written."""
    return {"both_ar_first": ("ar", "en"), "both_en_first": ("en", "ar")}.get(
        language, (language,))


@dataclass(frozen=True)
class PartRequest:
    """One part to write: its output language and, optionally, a custom instruction."""

    language: str  # one of CONTENT_LANGUAGES
    prompt: str | None = None  # replaces the engine's default instruction for this part


@dataclass(frozen=True)
class ContentRequest:
    """Everything an engine needs to write the requested parts of one transcript."""

    transcript: str
    transcript_language: str  # "ar" or "en": the language the transcript is in
    parts: Mapping[str, PartRequest]  # part name (one of AI_PARTS) -> how to write it
    title: str | None = None  # a title for the content, when the caller gave one
    date: str | None = None  # the content's date (ISO), when the caller gave one
    instructions: str | None = None  # free-text guidance applied to every part
    # The recognizer's segments, in order: sentence units when the text is unpunctuated.
    segments: tuple[str, ...] = ()


@dataclass
class ContentResult:
    """Every requested part as a string (Hamsa's wire type), plus token usage when known."""

    parts: dict[str, str]
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "transcript condensed in 3 chunks"

    @property
    def total_tokens(self) -> int | None:
        return total_tokens(self.prompt_tokens, self.completion_tokens)


def total_tokens(prompt: int | None, completion: int | None) -> int | None:
    """Prompt plus completion tokens; None when the endpoint reported neither."""
    if prompt is None and completion is None:
        return None
    return (prompt or 0) + (completion or 0)


class ContentEngine(Protocol):
    """Writes content parts from a transcript."""

    name: str  # shown as the job's engine, e.g. "extractive" or "llm:qwen2.5-7b-instruct"

    def refusal(self, part: str, request: PartRequest, transcript_language: str) -> str | None:
        """Why this engine cannot write ``part`` as asked, or None when it can."""
        ...

    def check(self, request: ContentRequest) -> None:
        """Raise BadRequest now for a request that can never be served as configured (e.g.
        prompts that leave no room for the transcript). An empty transcript means "not known
        yet": assume a long one."""
        ...

    def generate(self, request: ContentRequest) -> ContentResult:
        """Write every part in ``request.parts``; raise a HamsError when that fails."""
        ...
