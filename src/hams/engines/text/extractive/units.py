"""Cutting a transcript into units, the sentences every part is made of: its own sentences,
or for text with little punctuation the recognizer's segments or runs cut near clause breaks.

Its own module because how unpunctuated speech is cut decides what every part can quote, and
it needs only the words, not the rankings.
"""

from __future__ import annotations

import re

from hams.engines.text.extractive.words import (
    ARABIC_CONJUNCTIONS,
    ARABIC_STOPS,
    VERB_PREFIXES,
    WORD,
    arabic_match_form,
    latin_form,
)
from hams.text.dictionary import ARABIC_LETTER
from hams.text.normalize import normalize
from hams.text.sentences import split_sentences

UNIT_WORDS = 30  # the length aimed at when an unpunctuated run is cut into units
UNIT_MAX_WORDS = 35
UNIT_MIN_WORDS = 12
LONG_SENTENCE_WORDS = 50  # a longer sentence in punctuated text is an unpunctuated run
SPARSE_WORDS = 40  # fewer sentence ends than one per this many words: unpunctuated text

# Where an unpunctuated run may be cut: after a clause mark, or before a word opening a clause.
_CLAUSE_END = re.compile(r"[،؛,;:][\"'”’»)\]]*$")
_ENGLISH_OPENERS = frozenset({"but", "because", "so", "although", "though", "while", "whereas",
                              "however", "then", "therefore"})
_ARABIC_OPENERS = frozenset(arabic_match_form(word) for word in (
    "ثم", "لكن", "لأن", "حيث", "عندما", "بينما", "إذا", "لذلك", "بل", "أما", "فإن"))


def _opener_strength(word: str) -> int:
    """How well a unit may start at `word`: 2 before a clause-opening conjunction (لأن, ويرى,
    وقد, but, because), 1 before another و-word or "and"/"or", 0 elsewhere."""
    match = WORD.search(word)
    if match is None:
        return 0
    if not ARABIC_LETTER.search(match.group()):
        form = latin_form(match.group())
        return 2 if form in _ENGLISH_OPENERS else 1 if form in ("and", "or") else 0
    form = arabic_match_form(match.group())
    if form in _ARABIC_OPENERS or form == "و":
        return 2
    if len(form) >= 3 and form[0] in ARABIC_CONJUNCTIONS:
        rest = form[1:]
        if rest in ARABIC_STOPS or rest in _ARABIC_OPENERS:
            return 2  # وقد، وهذا، فإن، ولكن
        if form[0] == "و":  # ويرى، وتساعد open a clause; والمدارس may only continue a list
            return 2 if rest[0] in VERB_PREFIXES and len(rest) >= 3 else 1
    return 0


def _cut_run(sentence: str) -> list[str]:
    """Cut an unpunctuated run into units of about ``UNIT_WORDS`` words, each between
    ``UNIT_MIN_WORDS`` and ``UNIT_MAX_WORDS``: after a clause mark when there is one, else
    before a conjunction that opens a clause, else at the space nearest the target."""
    words = sentence.split()
    units, start = [], 0
    while len(words) - start > UNIT_MAX_WORDS:
        low = start + UNIT_MIN_WORDS
        high = start + min(UNIT_MAX_WORDS, len(words) - start - UNIT_MIN_WORDS)

        def strength(cut: int, start: int = start) -> tuple[int, int]:
            mark = 3 if _CLAUSE_END.search(words[cut - 1]) else _opener_strength(words[cut])
            return mark, -abs(cut - start - UNIT_WORDS)

        cut = max(range(low, high + 1), key=strength)
        units.append(" ".join(words[start:cut]))
        start = cut
    units.append(" ".join(words[start:]))
    return units


def cut_units(text: str, segments: tuple[str, ...]) -> list[str]:
    """The units the parts are built from: sentences, or for a text with little punctuation
    the recognizer's segments when they hold exactly its words, else runs cut into pieces of
    about ``UNIT_WORDS`` words. A punctuated sentence is cut only past
    ``LONG_SENTENCE_WORDS``."""
    sentences = split_sentences(text, max_chars=len(text) + 1)
    sparse = len(sentences) * SPARSE_WORDS < len(text.split())
    if sparse and segments:
        pieces = [" ".join(normalize(segment).split()) for segment in segments]
        pieces = [piece for piece in pieces if piece]
        if pieces and WORD.findall(" ".join(pieces)) == WORD.findall(text):
            sentences = pieces
    limit = UNIT_MAX_WORDS if sparse else LONG_SENTENCE_WORDS
    units = []
    for sentence in sentences:
        units.extend(_cut_run(sentence) if len(sentence.split()) > limit else [sentence])
    return units
