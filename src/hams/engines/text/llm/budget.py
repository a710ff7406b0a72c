"""Fitting a job into ``max_input_chars``: the room each request leaves for the transcript or
notes, and cutting a long text into chunks between sentences.

Its own module because the arithmetic of what fits is shared by the check at submission and
the condensing of long transcripts in the worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hams.engines.text import ContentRequest

MIN_SOURCE_SHARE = 0.25  # the least share of max_input_chars left for the transcript or notes
MAX_CONDENSE_ROUNDS = 3  # notes of notes of notes; past that the model is not shrinking them

_SENTENCE_BREAK = re.compile(r"(?<=[.!?؟])\s+|\s*\n\s*")
# Placeholders for the chunk numbers of a notes request when its size is worked out in advance.
MANY_CHUNKS = 10**6


@dataclass(frozen=True)
class Budget:
    """Most characters of source text in one request, within ``max_input_chars`` in all."""

    source: int  # in a part's request: the transcript or the notes every part is written from
    chunk: int  # in a notes request: one chunk of a transcript (or notes) being condensed


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, cut between sentences where possible."""
    chunks: list[str] = []
    current = ""
    for sentence in _sentences(text, limit):
        if current and len(current) + 1 + len(sentence) > limit:
            chunks.append(current)
            current = ""
        current = f"{current} {sentence}" if current else sentence
    if current:
        chunks.append(current)
    return chunks


def _sentences(text: str, limit: int) -> list[str]:
    """Sentences of ``text``; one longer than ``limit`` is cut at a space, or anywhere."""
    out: list[str] = []
    for sentence in _SENTENCE_BREAK.split(text):
        sentence = sentence.strip()
        while len(sentence) > limit:
            cut = sentence.rfind(" ", limit // 2, limit + 1)
            cut = cut if cut > 0 else limit
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            out.append(sentence)
    return out


def message_chars(messages: list[dict]) -> int:
    """The message text of a request, as ``max_input_chars`` counts it."""
    return sum(len(message["content"]) for message in messages)


def longest_field(request: ContentRequest) -> tuple[str, int]:
    """The longest text the caller put into every request of a part, and its length."""
    fields = [(f"the custom prompt for '{part}'", len((part_request.prompt or "").strip()))
              for part, part_request in request.parts.items()]
    fields += [("the title", len(request.title or "")), ("the date", len(request.date or "")),
               ("the additional instructions", len(request.instructions or ""))]
    return max(fields, key=lambda field: field[1])
