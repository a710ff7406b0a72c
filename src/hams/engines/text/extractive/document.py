"""The ranking document: a transcript cut into units and tokenized once, with everything the
part writers ask of it (TextRank scores of the units, ranked key phrases, whether a phrase can
name a topic, a unit's opening as a title).

Its own module because every part is written from one document, so the costly work (tokens,
PageRank, phrase statistics) is done once and cached here.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import cached_property

import numpy as np

from hams.engines.text.extractive.phrases import Phrase, Term, is_candidate, repeats
from hams.engines.text.extractive.units import cut_units
from hams.engines.text.extractive.words import (
    ARABIC_CONJUNCTIONS,
    ARABIC_TITLE_LINKS,
    COMPARATIVE_CUES,
    COMPARATIVES,
    DETERMINERS,
    MARKS,
    TITLE_SMALL_WORDS,
    VERB_PREFIXES,
    Token,
    capitalize,
    tokenize,
)
from hams.errors import BadRequest
from hams.text.dictionary import ARABIC_LETTER

KEYWORD_COUNT = 10
TITLE_WORDS = 8  # words of a unit's opening used as a title
_TITLE_CANDIDATES = 3 * KEYWORD_COUNT  # ranked phrases a title may be made from
_FRAGMENT_SHARE = 0.6  # a phrase this often next to the same word is part of a longer name
_DAMPING = 0.85  # PageRank's usual value
_MAX_ITERATIONS = 100
_TOLERANCE = 1e-9


class Document:
    """A normalized transcript, cut into units and tokenized once for every part."""

    def __init__(self, text: str, language: str, segments: tuple[str, ...] = ()) -> None:
        self.text = text
        self.language = language
        self.sentences = cut_units(text, segments)
        self.tokens = [tokenize(sentence) for sentence in self.sentences]
        if not any(self.tokens):
            raise BadRequest("The transcript has no words: there is nothing to write from.")

    @property
    def arabic(self) -> bool:
        return self.language == "ar"

    @cached_property
    def has_content(self) -> list[bool]:
        """Whether each unit says anything beyond stop words and greetings."""
        return [any(token.content for token in tokens) for tokens in self.tokens]

    @cached_property
    def definite(self) -> frozenset[str]:
        """Keys of the Arabic words written with the article somewhere: nouns, not verbs."""
        return frozenset(token.key for tokens in self.tokens for token in tokens
                         if token.definite)

    @cached_property
    def places(self) -> dict[str, list[tuple[int, int]]]:
        """Where each folded word occurs: (unit, word) pairs."""
        places: dict[str, list[tuple[int, int]]] = {}
        for unit, tokens in enumerate(self.tokens):
            for index, token in enumerate(tokens):
                places.setdefault(token.form, []).append((unit, index))
        return places

    @cached_property
    def sentence_scores(self) -> list[float]:
        """TextRank score of every unit (weighted PageRank over shared content words)."""
        count = len(self.sentences)
        if count == 1:
            return [1.0]
        bags = [{token.key for token in tokens if token.content} for tokens in self.tokens]
        frequency = Counter(key for bag in bags for key in bag)
        shared = sorted(key for key, n in frequency.items() if n > 1)  # others link nothing
        columns = {key: index for index, key in enumerate(shared)}
        incidence = np.zeros((count, len(columns)), dtype=np.float32)
        for row, bag in enumerate(bags):
            incidence[row, [columns[key] for key in bag if key in columns]] = 1.0
        overlap = (incidence @ incidence.T).astype(np.float64)
        sizes = np.log1p(np.array([len(bag) for bag in bags], dtype=np.float64))
        norms = sizes[:, None] + sizes[None, :]
        weights = np.divide(overlap, norms, out=np.zeros_like(overlap), where=norms > 0)
        np.fill_diagonal(weights, 0.0)
        out = weights.sum(axis=1)
        linked = out > 0
        share = np.divide(1.0, out, out=np.zeros_like(out), where=linked)
        scores = np.full(count, 1.0 / count)
        for _ in range(_MAX_ITERATIONS):
            # weights is symmetric, so it is its own transpose. A sentence that shares nothing
            # passes its rank on evenly, as in PageRank.
            passed = weights @ (scores * share) + scores[~linked].sum() / count
            updated = (1 - _DAMPING) / count + _DAMPING * passed
            done = np.abs(updated - scores).sum() < _TOLERANCE
            scores = updated
            if done:
                break
        return [round(float(score), 12) for score in scores]

    def best_sentences(self, indices: set[int] | range) -> list[int]:
        """`indices` from the best-ranked unit down; a unit of greetings and stop words comes
        after every other, and ties go to the earlier one."""
        scores, content = self.sentence_scores, self.has_content
        return sorted(indices, key=lambda index: (not content[index], -scores[index], index))

    @cached_property
    def key_phrases(self) -> list[Phrase]:
        """The distinct key phrases, best first (at most ``KEYWORD_COUNT``)."""
        return self.ranked_phrases[:KEYWORD_COUNT]

    @cached_property
    def ranked_phrases(self) -> list[Phrase]:
        """The distinct key phrases, best first (at most ``_TITLE_CANDIDATES``)."""
        terms: dict[str, Term] = {}
        phrases: dict[tuple[str, ...], Phrase] = {}
        position = 0
        for index, tokens in enumerate(self.tokens):
            for start, token in enumerate(tokens):
                if token.content:
                    term = terms.get(token.key)
                    if term is None:
                        term = terms[token.key] = Term(first=index)
                    term.count += 1
                    term.capitals += token.capital
                    term.sentences.add(index)
                for length in range(1, 4):
                    run = tokens[start : start + length]
                    if len(run) < length:
                        break
                    if is_candidate(run):
                        self._record(phrases, run, index, start, position)
                position += 1
        total = len(self.sentences)
        for term in terms.values():
            spread = len(term.sentences) / total
            place = 0.5 + 0.5 / (1 + math.log1p(term.first))
            case = 1 + 0.3 * term.capitals / term.count
            term.score = term.count * (0.5 + spread) * place * case
        ranked = []
        for phrase in phrases.values():
            words = [terms[key] for key in phrase.keys if key in phrase.content]
            if len(words) == 1:
                phrase.score = words[0].score
            elif phrase.count >= 2 and not self.fragment(phrase):
                # Cohesion: how often the words occur together rather than apart. Dividing the
                # sum by sqrt(n) lets a phrase that is always said whole ("solar panels")
                # outrank its own words, but not a word far more frequent than the phrase.
                cohesion = phrase.count / min(word.count for word in words)
                phrase.score = cohesion * sum(word.score for word in words) / math.sqrt(len(words))
            else:
                continue
            phrase.score = round(phrase.score, 9)
            ranked.append(phrase)
        ranked.sort(key=lambda phrase: (-phrase.score, phrase.first))
        chosen: list[Phrase] = []
        for phrase in ranked:
            if not any(repeats(phrase, better) for better in chosen):
                chosen.append(phrase)
                if len(chosen) == _TITLE_CANDIDATES:
                    break
        return chosen

    @staticmethod
    def _record(phrases: dict[tuple[str, ...], Phrase], run: list[Token], sentence: int,
                start: int, position: int) -> None:
        keys = tuple(token.key for token in run)
        phrase = phrases.get(keys)
        if phrase is None:
            content = frozenset(token.key for token in run if token.content)
            phrase = phrases[keys] = Phrase(keys, content, position)
        phrase.count += 1
        phrase.sentences.add(sentence)
        phrase.spots.append((sentence, start))
        form = " ".join(token.display for token in run)
        (phrase.weak_forms if run[0].weak_case else phrase.forms)[form] += 1

    def verb_like(self, token: Token) -> bool:
        """Whether an Arabic word looks like a verb in the imperfect (يساعد، وتستخدم): a
        prefix ي ت ن, no article, and never written with the article in this transcript.
        A ت or ن word ending in ة or ات, or shaped تفعيل (تعليم), is taken for a noun."""
        if not self.arabic or token.definite or not ARABIC_LETTER.search(token.form):
            return False
        form = token.form
        if len(form) >= 4 and form[0] in ARABIC_CONJUNCTIONS and form[1] in VERB_PREFIXES:
            form = form[1:]
        if len(form) < 3 or form[0] not in VERB_PREFIXES or form in self.definite:
            return False
        if form[0] == "ي":
            return True
        written = MARKS.sub("", token.display)
        return not (written.endswith(("ة", "ات")) or (len(form) == 5 and form[3] == "ي"))

    def fragment(self, phrase: Phrase) -> bool:
        """Whether `phrase` is mostly said as part of a longer name: the same content word
        right before it (الاصطناعي after الذكاء) or right after it (electric before cars) in
        at least ``_FRAGMENT_SHARE`` of its occurrences. A verb next to it does not count."""
        size = len(phrase.keys)
        before: Counter[str] = Counter()
        after: Counter[str] = Counter()
        for unit, start in phrase.spots:
            tokens = self.tokens[unit]
            if start > 0 and self._continues(tokens[start - 1], tokens[start]):
                before[tokens[start - 1].key] += 1
            end = start + size
            if end < len(tokens) and self._continues(tokens[end - 1], tokens[end]):
                after[tokens[end].key] += 1
        most = max([*before.values(), *after.values(), 0])
        return most > 0 and most >= _FRAGMENT_SHARE * phrase.count

    def _continues(self, left: Token, right: Token) -> bool:
        """Whether two neighbouring words may belong to one name: both content words, no
        punctuation between, neither a verb, and the second not joined by و or a preposition
        (الشمس والماء, الري بالتنقيط)."""
        if not (left.content and right.content and right.joined):
            return False
        if right.prefixed or (self.arabic and right.form[0] in ARABIC_CONJUNCTIONS):
            return False
        return not (self.verb_like(left) or self.verb_like(right))

    def nameable(self, phrase: Phrase) -> bool:
        """Whether `phrase` can name a topic: a noun phrase, not a piece of a longer one,
        not a verb (يساعد) nor a bare comparative (cheaper) or -ing verb (growing)."""
        if self.fragment(phrase):
            return False
        unit, start = phrase.spots[0]
        run = self.tokens[unit][start : start + len(phrase.keys)]
        if self.arabic:
            return not self.verb_like(run[0]) and all(
                token.content or token.form in ARABIC_TITLE_LINKS for token in run[1:-1])
        if any(not token.content and token.form not in TITLE_SMALL_WORDS
               for token in run[1:-1]):
            return False  # "cars are cheaper": a verb inside
        last = run[-1]
        return not self._comparative(last) and not (len(run) == 1 and self._verb_ing(last))

    def _neighbours(self, form: str, offset: int) -> set[str]:
        """The folded words found `offset` words away from every occurrence of `form`."""
        found = set()
        for unit, index in self.places.get(form, ()):
            tokens = self.tokens[unit]
            if 0 <= index + offset < len(tokens):
                found.add(tokens[index + offset].form)
        return found

    def _comparative(self, token: Token) -> bool:
        form = token.form
        if len(form) < 5 or not form.endswith("er"):
            return False
        return (form in COMPARATIVES or "than" in self._neighbours(form, 1)
                or bool(COMPARATIVE_CUES & self._neighbours(form, -1)))

    def _verb_ing(self, token: Token) -> bool:
        form = token.form
        return (len(form) >= 6 and form.endswith("ing")
                and not DETERMINERS & self._neighbours(form, -1))

    def opening(self, index: int) -> str:
        """The opening words of a unit as a title: past any greeting or stop word at its
        start, at most ``TITLE_WORDS`` words, ending on a content word when it has one."""
        tokens = self.tokens[index]
        if not tokens:
            return ""
        first = next((at for at, token in enumerate(tokens) if token.content), 0)
        words = tokens[first : first + TITLE_WORDS]
        while len(words) > 1 and not words[-1].content and any(t.content for t in words):
            words.pop()
        opening = self.sentences[index][words[0].start : words[-1].end]
        return opening if self.arabic else capitalize(opening)
