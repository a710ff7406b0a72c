"""Extractive content engine: summaries, keywords, key topics, titles and introductions taken
from the transcript itself, with no model, no network and no dependency beyond numpy.

Everything shown is the transcript's own text: whole sentences for the summary, the key topics
and the introduction, and phrases as they were written for keywords and titles. The engine
therefore writes only the parts in ``EXTRACTIVE_PARTS``, only in the transcript's language,
and cannot follow custom prompts; ``refusal`` says so, naming the setting for a language model.

Pipeline
--------
The transcript goes through ``normalize`` (no tatweel, presentation forms or invisible marks)
and ``split_sentences``; a "sentence" longer than ``LONG_SENTENCE`` characters means the
transcript has no punctuation, so it is cut at clause marks (، ؛ , ;) and failing that at
spaces, or the summary could never be shorter than the text.

Each word gets a *matching key* used only to group words; what is displayed is always a form
found in the transcript.

- English: lowercase, possessive dropped, plural folded (rivers -> river).
- Arabic: harakat and tatweel removed, alef forms unified (أ إ آ ٱ -> ا), ى -> ي, ة -> ه, then a
  light prefix stemmer drops the definite article together with an attached conjunction or
  preposition (المياه, والمياه, بالمياه, للمياه -> مياه). A bare leading و ب ل is kept: without
  the article it is too often a root letter. The word is displayed without the conjunction or
  preposition but with the article (بالمياه -> المياه).

Parts
-----
- summary: TextRank. Sentences are nodes; an edge weighs the content keys two sentences share,
  divided by the logs of their sizes so long sentences do not win by length alone. A weighted
  PageRank ranks them, and the top ~30 % (1 to 7, always fewer than all) are returned in
  their original order.
- keywords: YAKE-like. Candidates are runs of 1-3 words within one clause that neither start
  nor end with a stop word. A word scores by frequency, spread over sentences, the position of
  its first sentence and (English) capitals mid-sentence; a phrase of several words by its
  words' scores (summed, over the square root of their number) times its cohesion (how often
  they occur together rather than apart), and only when it occurs at least twice. A phrase that
  merely repeats a higher-ranked one (say "solar" after "solar panels") is dropped.
- keyTopicsWithBullets: the top key phrases, each with the best-ranked sentence mentioning it.
- titles: three combinations of the top key phrases ("A and B", "A: C", "B and C").
- introduction: the opening sentences, up to about ``INTRODUCTION_WORDS`` words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from hams.engines.text import (
    EXTRACTIVE_PARTS,
    ContentRequest,
    ContentResult,
    PartRequest,
    output_languages,
)
from hams.engines.text.stopwords import ARABIC_STOP_WORDS, ENGLISH_STOP_WORDS
from hams.errors import BadRequest
from hams.text.normalize import normalize
from hams.text.sentences import split_sentences

LLM_SETTING = "set HAMS_LLM_BASE_URL and HAMS_LLM_MODEL to an OpenAI-compatible endpoint"

SUMMARY_RATIO = 0.3
SUMMARY_MAX_SENTENCES = 7
KEYWORD_COUNT = 10
TOPIC_COUNT = 5
TITLE_COUNT = 3
INTRODUCTION_WORDS = 60
LONG_SENTENCE = 600  # characters: longer means an unpunctuated transcript
_CUT_SENTENCE = 300  # where such a run is cut, at a clause mark when there is one
_DAMPING = 0.85  # PageRank's usual value
_MAX_ITERATIONS = 100
_TOLERANCE = 1e-9

_LANGUAGE_NAMES = {"ar": "Arabic", "en": "English"}
_BULLET = "•"
_DASH = "—"

# A word: letters and digits, Arabic marks inside it, and an apostrophe between letters (it's).
_WORD = re.compile(r"[^\W_](?:[^\W_]|[\u064b-\u065f\u0670]|['’](?=[^\W_]))*")
_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # harakat, dagger alef, tatweel
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a\u0671-\u06d3]")
_POSSESSIVE = re.compile(r"['’]s$")
_ARABIC_FOLDS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
# Longest first. Every entry ends in the article, or is ل + article (ل + المياه = للمياه).
_ARABIC_PREFIXES = ("وبال", "وكال", "فبال", "فكال", "ولل", "فلل", "وال", "فال", "بال", "كال",
                    "لل", "ال")
_ARABIC_CONJUNCTIONS = "وف"  # may attach to a stop word: وفي، فإن، وهذا
# Words that join two topics rather than name one: never inside a key phrase.
_COORDINATORS = frozenset({"and", "or", "but", "nor", "و", "او", "ثم"})
_UNFOLDED_PLURALS = frozenset({"news", "series", "species", "means", "lens", "physics",
                               "economics", "politics", "mathematics", "always", "perhaps"})
_TITLE_SMALL_WORDS = frozenset({"a", "an", "the", "and", "or", "but", "nor", "of", "in", "on",
                                "at", "to", "for", "by", "with", "from", "as", "into"})


def _arabic_match_form(word: str) -> str:
    """The spelling used to compare Arabic words: marks gone, alef/yaa/taa marbuta folded."""
    return _MARKS.sub("", word).translate(_ARABIC_FOLDS)


_ARABIC_STOPS = frozenset(_arabic_match_form(word) for word in ARABIC_STOP_WORDS)


def _fold_plural(word: str) -> str:
    """Group an English plural with its singular (rivers -> river, cities -> city)."""
    if len(word) <= 3 or not word.isalpha() or word in _UNFOLDED_PLURALS:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _drop_letters(word: str, count: int) -> str:
    """`word` without its first `count` letters and the marks written on them."""
    index = 0
    for _ in range(count):
        index += 1
        while index < len(word) and _MARKS.match(word[index]):
            index += 1
    return word[index:]


@dataclass(frozen=True)
class _Token:
    """One word of a sentence, with what grouping and display need."""

    key: str  # matching key: words with the same key are the same word
    display: str  # as shown in a key phrase: no attached conjunction, case voted later
    content: bool  # may start or end a key phrase and counts for sentence similarity
    joined: bool  # only spaces between this word and the one before it
    prefixed: bool  # Arabic: lost a conjunction or preposition before the article
    capital: bool  # English: capitalized mid-sentence or an acronym (a name)
    weak_case: bool  # English: capitalized only because it opens the sentence


def _arabic_token(word: str, joined: bool) -> _Token:
    bare = _arabic_match_form(word)
    stop = bare in _ARABIC_STOPS or (
        len(bare) > 2 and bare[0] in _ARABIC_CONJUNCTIONS and bare[1:] in _ARABIC_STOPS)
    key, display, prefixed = bare, word, False
    if not stop:
        for prefix in _ARABIC_PREFIXES:
            if bare.startswith(prefix) and len(bare) - len(prefix) >= 2:
                key = bare[len(prefix):]
                if prefix != "ال":
                    display = "ال" + _drop_letters(word, len(prefix))
                    prefixed = True
                break
    content = not stop and len(key) >= 2 and not key.isdigit()
    return _Token(key, display, content, joined, prefixed, False, False)


def _latin_token(word: str, joined: bool, first: bool) -> _Token:
    lower = word.lower()
    base = _POSSESSIVE.sub("", lower)
    stop = lower in ENGLISH_STOP_WORDS or base in ENGLISH_STOP_WORDS
    acronym = len(word) > 1 and word.isupper()
    capitalized = word[0].isupper()
    capital = acronym or (capitalized and not first)
    display = word if capital else lower
    content = not stop and len(base) >= 2 and not base.isdigit()
    weak = first and capitalized and not acronym
    return _Token(_fold_plural(base), display, content, joined, False, capital, weak)


def _tokens(sentence: str) -> list[_Token]:
    """The words of one sentence; punctuation between two words is remembered as a break."""
    tokens, end = [], None
    for match in _WORD.finditer(sentence):
        word = match.group()
        joined = end is not None and not sentence[end:match.start()].strip()
        if _ARABIC_LETTER.search(word):
            tokens.append(_arabic_token(word, joined))
        else:
            tokens.append(_latin_token(word, joined, first=end is None))
        end = match.end()
    return tokens


def _split(text: str) -> list[str]:
    """Whole sentences; an unpunctuated run is cut at clause marks so it can be summarized."""
    sentences = []
    for sentence in split_sentences(text, max_chars=10_000):
        if len(sentence) > LONG_SENTENCE:
            sentences.extend(split_sentences(sentence, max_chars=_CUT_SENTENCE))
        else:
            sentences.append(sentence)
    return sentences


@dataclass
class _Term:
    """Statistics of one content word (by key) over the transcript."""

    count: int = 0
    capitals: int = 0
    sentences: set[int] = field(default_factory=set)
    first: int = -1
    score: float = 0.0


@dataclass
class _Phrase:
    """A key-phrase candidate: its keys, where it occurs and how it is written."""

    keys: tuple[str, ...]
    content: frozenset[str]  # keys of its content words
    first: int  # word position of its first occurrence, to break ties by order
    count: int = 0
    sentences: set[int] = field(default_factory=set)
    forms: Counter[str] = field(default_factory=Counter)  # forms seen mid-sentence
    weak_forms: Counter[str] = field(default_factory=Counter)  # forms seen opening a sentence
    score: float = 0.0

    @property
    def display(self) -> str:
        """The form written most often; a capital that only opens a sentence does not vote."""
        forms = self.forms or self.weak_forms
        return forms.most_common(1)[0][0]


def _is_candidate(run: list[_Token]) -> bool:
    """1-3 words that neither start nor end with a stop word and name one thing."""
    if not (run[0].content and run[-1].content):
        return False
    if len(run) == 1:
        return True
    if any(not token.joined or token.prefixed for token in run[1:]):
        return False  # crosses punctuation, or "X بالمياه": a preposition inside the phrase
    if any(token.key in _COORDINATORS for token in run):
        return False
    keys = [token.key for token in run if token.content]
    return len(keys) == len(set(keys))


class _Document:
    """A normalized transcript, split and tokenized once for every part."""

    def __init__(self, text: str, language: str) -> None:
        self.language = language
        self.sentences = _split(text)
        self.tokens = [_tokens(sentence) for sentence in self.sentences]
        if not any(self.tokens):
            raise BadRequest("The transcript has no words: there is nothing to write from.")

    @property
    def arabic(self) -> bool:
        return self.language == "ar"

    @cached_property
    def sentence_scores(self) -> list[float]:
        """TextRank score of every sentence (weighted PageRank over shared content words)."""
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
        """`indices` from the best-ranked sentence down; ties go to the earlier one."""
        scores = self.sentence_scores
        return sorted(indices, key=lambda index: (-scores[index], index))

    @cached_property
    def key_phrases(self) -> list[_Phrase]:
        """The distinct key phrases, best first (at most ``KEYWORD_COUNT``)."""
        terms: dict[str, _Term] = {}
        phrases: dict[tuple[str, ...], _Phrase] = {}
        position = 0
        for index, tokens in enumerate(self.tokens):
            for start, token in enumerate(tokens):
                if token.content:
                    term = terms.get(token.key)
                    if term is None:
                        term = terms[token.key] = _Term(first=index)
                    term.count += 1
                    term.capitals += token.capital
                    term.sentences.add(index)
                for length in range(1, 4):
                    run = tokens[start : start + length]
                    if len(run) < length:
                        break
                    if _is_candidate(run):
                        self._record(phrases, run, index, position)
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
            elif phrase.count >= 2:
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
        chosen: list[_Phrase] = []
        for phrase in ranked:
            if not any(_repeats(phrase, better) for better in chosen):
                chosen.append(phrase)
                if len(chosen) == KEYWORD_COUNT:
                    break
        return chosen

    @staticmethod
    def _record(phrases: dict[tuple[str, ...], _Phrase], run: list[_Token], sentence: int,
                position: int) -> None:
        keys = tuple(token.key for token in run)
        phrase = phrases.get(keys)
        if phrase is None:
            content = frozenset(token.key for token in run if token.content)
            phrase = phrases[keys] = _Phrase(keys, content, position)
        phrase.count += 1
        phrase.sentences.add(sentence)
        form = " ".join(token.display for token in run)
        (phrase.weak_forms if run[0].weak_case else phrase.forms)[form] += 1


def _repeats(phrase: _Phrase, better: _Phrase) -> bool:
    """Whether `phrase` adds nothing to the higher-ranked `better`: it is made of the same
    words, is a part of it that seldom occurs on its own, or extends a phrase of several words
    by one more word."""
    if phrase.content == better.content or phrase.display.lower() == better.display.lower():
        return True
    if phrase.content < better.content:
        return phrase.count <= 1.5 * better.count
    return len(better.content) > 1 and better.content < phrase.content


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _title_case(phrase: str) -> str:
    """English title case that leaves names and acronyms alone (pH, NASA, McDonald)."""
    words = phrase.split()
    return " ".join(
        word if any(char.isupper() for char in word)
        or (index and word in _TITLE_SMALL_WORDS) else _capitalize(word)
        for index, word in enumerate(words)
    )


def _opening_words(sentence: str, limit: int = 8) -> str:
    """The first words of a sentence, without its end punctuation, as a fallback title."""
    return " ".join(sentence.split()[:limit]).rstrip(".!?؟…،,;؛:")


def _summary(document: _Document) -> str:
    count = len(document.sentences)
    wanted = min(SUMMARY_MAX_SENTENCES, max(1, int(count * SUMMARY_RATIO + 0.5)))
    if count >= 2:
        wanted = min(wanted, count - 1)
    chosen: dict[str, int] = {}  # a sentence said twice is summarized once
    for index in document.best_sentences(range(count)):
        chosen.setdefault(document.sentences[index].casefold(), index)
        if len(chosen) == wanted:
            break
    return " ".join(document.sentences[index] for index in sorted(chosen.values()))


def _keywords(document: _Document) -> str:
    separator = "، " if document.arabic else ", "
    return separator.join(phrase.display for phrase in document.key_phrases)


def _key_topics(document: _Document) -> str:
    lines, used = [], set()
    for phrase in document.key_phrases[:TOPIC_COUNT]:
        ranked = document.best_sentences(phrase.sentences)
        fresh = [index for index in ranked if index not in used]
        best = (fresh or ranked)[0]
        used.add(best)
        name = phrase.display if document.arabic else _capitalize(phrase.display)
        lines.append(f"{_BULLET} {name} {_DASH} {document.sentences[best]}")
    if not lines:  # nothing but stop words: the best sentence is the only topic
        best = document.best_sentences(range(len(document.sentences)))[0]
        lines.append(f"{_BULLET} {document.sentences[best]}")
    return "\n".join(lines)


def _title_names(phrases: list[_Phrase]) -> list[_Phrase]:
    """A, B, C, D for the titles "A and B", "A: C", "B and D": no title names a word twice
    (never "River and Alder River"), and C is a phrase of several words when there is one."""
    def apart(phrase: _Phrase, *others: _Phrase) -> bool:
        return all(not phrase.content & other.content for other in others)

    if not phrases:
        return []
    first = phrases[0]
    second = next((p for p in phrases if apart(p, first)), None)
    if second is None:
        return [first]
    rest = [p for p in phrases if p not in (first, second)]
    third = next((p for p in rest if apart(p, first) and len(p.content) > 1),
                 next((p for p in rest if apart(p, first)), None))
    fourth = next((p for p in rest if p is not third and apart(p, second)), None)
    return [first, second, *(p for p in (third, fourth) if p is not None)]


def _titles(document: _Document) -> str:
    names = [phrase.display for phrase in _title_names(document.key_phrases)]
    if not document.arabic:
        names = [_title_case(name) for name in names]
    conjunction = " و" if document.arabic else " and "  # Arabic و is written on the next word
    options = []
    if len(names) >= 2:
        options.append(names[0] + conjunction + names[1])
    if len(names) >= 3:
        options.append(f"{names[0]}: {names[2]}")
    if len(names) >= 4:
        options.append(names[1] + conjunction + names[3])
    if len(names) >= 2:
        options.append(f"{names[0]}: {names[1]}")
    options += names
    opening = _opening_words(document.sentences[0])
    options.append(opening if document.arabic else _capitalize(opening))
    titles: list[str] = []
    for option in options:
        if option and option.casefold() not in {title.casefold() for title in titles}:
            titles.append(option)
    return "\n".join(titles[:TITLE_COUNT])


def _introduction(document: _Document) -> str:
    chosen, words = [], 0
    for sentence in document.sentences:
        size = len(sentence.split())
        if chosen and words + size > INTRODUCTION_WORDS:
            break
        chosen.append(sentence)
        words += size
    return " ".join(chosen)


_WRITERS: dict[str, Callable[[_Document], str]] = {
    "summary": _summary,
    "keywords": _keywords,
    "keyTopicsWithBullets": _key_topics,
    "titles": _titles,
    "introduction": _introduction,
}


class ExtractiveEngine:
    """Writes summaries, keywords, key topics, titles and introductions by picking sentences
    and phrases from the transcript: always available, deterministic, no model to configure."""

    name = "extractive"

    def refusal(self, part: str, request: PartRequest, transcript_language: str) -> str | None:
        """Why this engine cannot write `part` as asked, or None when it can. Every reason
        names the setting that brings in a language model, the only way to get it written."""
        if part not in EXTRACTIVE_PARTS:
            return f"{part} needs a language model: {LLM_SETTING}"
        if request.prompt is not None:
            return f"A custom prompt for {part} needs a language model: {LLM_SETTING}"
        languages = output_languages(request.language)
        if len(languages) > 1:
            return (f"{part} in both Arabic and English needs a language model to translate: "
                    f"{LLM_SETTING}")
        if languages != (transcript_language,):
            wanted = _LANGUAGE_NAMES.get(languages[0], languages[0])
            spoken = _LANGUAGE_NAMES.get(transcript_language, transcript_language)
            return (f"{part} in {wanted} from a transcript in {spoken} needs a language model "
                    f"to translate: {LLM_SETTING}")
        return None

    def generate(self, request: ContentRequest) -> ContentResult:
        """Write every requested part from the transcript. ``request.instructions`` is ignored:
        the service refuses instructions before they reach this engine."""
        for part, part_request in request.parts.items():
            reason = self.refusal(part, part_request, request.transcript_language)
            if reason:
                raise BadRequest(reason)
        text = normalize(request.transcript)
        if not text:
            raise BadRequest("The transcript is empty: there is nothing to write from.")
        document = _Document(text, request.transcript_language)
        parts = {part: normalize(_WRITERS[part](document)) for part in request.parts}
        return ContentResult(parts=parts)
