"""Knowledge-base text cut into chunks that each answer on their own: whole paragraphs when
they fit, else whole sentences, so a retrieved chunk never starts or ends mid-thought.

Sentences end at . ! ? ؟ … and at line ends (``hams.text.sentences``, which also knows
abbreviations, decimals, URLs and e-mail addresses); ، ؛ , ; cut only a sentence longer than a
chunk, and a single word longer than a chunk is cut where the chunk ends.
"""

from __future__ import annotations

import re

from hams.text.sentences import split_sentences

DEFAULT_MAX_CHARS = 800
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")


def chunk_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Chunks of at most ``max_chars`` characters, in order, none empty: consecutive
    paragraphs share a chunk (a blank line between them) while they fit; a paragraph too
    long for one chunk is packed sentence by sentence (a space between them)."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    chunks: list[str] = []
    current = ""
    for paragraph in _paragraphs(text):
        if len(paragraph) > max_chars:
            chunks.extend(filter(None, [current]))
            chunks.extend(_pack(_sentences(paragraph, max_chars), max_chars))
            current = ""
        elif current and len(current) + 2 + len(paragraph) <= max_chars:
            current = f"{current}\n\n{paragraph}"
        else:
            chunks.extend(filter(None, [current]))
            current = paragraph
    chunks.extend(filter(None, [current]))
    return chunks


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, stripped, with spaces runs collapsed inside lines."""
    blocks = (re.sub(r"[^\S\n]+", " ", block).strip() for block in _PARAGRAPH_BREAK.split(text))
    return [block for block in blocks if block]


def _sentences(paragraph: str, max_chars: int) -> list[str]:
    """The paragraph's sentences, each at most ``max_chars`` (a word that alone exceeds it is
    cut at the limit: nothing sensible is lost in a 800-character token)."""
    pieces = []
    for sentence in split_sentences(paragraph, max_chars=max_chars):
        pieces.extend(sentence[i:i + max_chars] for i in range(0, len(sentence), max_chars))
    return pieces


def _pack(sentences: list[str], max_chars: int) -> list[str]:
    """Consecutive sentences joined by a space into chunks of at most ``max_chars``."""
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        if current and len(current) + 1 + len(sentence) <= max_chars:
            current = f"{current} {sentence}"
        else:
            chunks.extend(filter(None, [current]))
            current = sentence
    chunks.extend(filter(None, [current]))
    return chunks
