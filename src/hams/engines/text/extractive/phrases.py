"""Key-phrase candidates: which runs of words may be a key phrase, the statistics a word or
phrase is ranked by, and when a phrase only repeats a better one.

Its own module because these are the plain records and rules the document's ranking fills in,
kept apart from the ranking itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hams.engines.text.extractive.words import Token

# Words that join two topics rather than name one: never inside a key phrase.
_COORDINATORS = frozenset({"and", "or", "but", "nor", "و", "او", "ثم"})


@dataclass
class Term:
    """Statistics of one content word (by key) over the transcript."""

    count: int = 0
    capitals: int = 0
    sentences: set[int] = field(default_factory=set)
    first: int = -1
    score: float = 0.0


@dataclass
class Phrase:
    """A key-phrase candidate: its keys, where it occurs and how it is written."""

    keys: tuple[str, ...]
    content: frozenset[str]  # keys of its content words
    first: int  # word position of its first occurrence, to break ties by order
    count: int = 0
    sentences: set[int] = field(default_factory=set)
    spots: list[tuple[int, int]] = field(default_factory=list)  # (unit, first word) each time
    forms: Counter[str] = field(default_factory=Counter)  # forms seen mid-sentence
    weak_forms: Counter[str] = field(default_factory=Counter)  # forms seen opening a sentence
    score: float = 0.0

    @property
    def display(self) -> str:
        """The form written most often; a capital that only opens a sentence does not vote."""
        forms = self.forms or self.weak_forms
        return forms.most_common(1)[0][0]


def is_candidate(run: list[Token]) -> bool:
    """1-3 words that neither start nor end with a stop word and name one thing."""
    if not (run[0].content and run[-1].content):
        return False
    if len(run) == 1:
        return True
    if any(not token.joined or token.prefixed for token in run[1:]):
        return False  # crosses punctuation, or "X بالمياه": a preposition inside the phrase
    if any(token.key in _COORDINATORS or token.formula for token in run):
        return False
    keys = [token.key for token in run if token.content]
    return len(keys) == len(set(keys))


def repeats(phrase: Phrase, better: Phrase) -> bool:
    """Whether `phrase` adds nothing to the higher-ranked `better`: it is made of the same
    words, is a part of it that seldom occurs on its own, or extends a phrase of several words
    by one more word."""
    if phrase.content == better.content or phrase.display.lower() == better.display.lower():
        return True
    if phrase.content < better.content:
        return phrase.count <= 1.5 * better.count
    return len(better.content) > 1 and better.content < phrase.content
