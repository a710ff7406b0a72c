"""Extractive content engine: summaries, keywords, key topics, titles and introductions taken
from the transcript itself, with no model, no network and no dependency beyond numpy.

Everything shown is the transcript's own text: whole units (sentences, or the pieces an
unpunctuated transcript is cut into) for the summary, the key topics and the introduction, and
phrases as they were written for keywords and titles; only "…" is added where a unit is cut
short. The engine therefore writes only the parts in ``EXTRACTIVE_PARTS``, only in the
transcript's language, and cannot follow custom prompts; ``refusal`` says so, naming the
setting for a language model.

Pipeline
--------
The transcript goes through ``normalize`` (no tatweel, presentation forms or invisible marks)
and is cut into *units*, the sentences every part is made of:

- a punctuated transcript: its sentences (``split_sentences``); one longer than
  ``LONG_SENTENCE_WORDS`` words is cut as below;
- a transcript with little punctuation (fewer sentence ends than one per ``SPARSE_WORDS``
  words, usual for Arabic speech recognition): the recognizer's segments when the request has
  them and they hold exactly the transcript's words; otherwise every run longer than
  ``UNIT_MAX_WORDS`` words is cut into units of about ``UNIT_WORDS`` words, after a clause mark
  (، ؛ , ;) when there is one, else before a conjunction that opens a clause (لأن, ويرى, وقد,
  but, because), else before another و-word or "and", else at the space nearest the target.

Each word gets a *matching key* used only to group words; what is displayed is always a form
found in the transcript.

- English: lowercase, possessive dropped, plural folded (rivers -> river).
- Arabic: harakat and tatweel removed, alef forms unified (أ إ آ ٱ -> ا), ى -> ي, ة -> ه, then a
  light prefix stemmer drops the definite article together with an attached conjunction or
  preposition (المياه, والمياه, بالمياه, للمياه -> مياه). A bare leading و ب ل is kept: without
  the article it is too often a root letter. The word is displayed without the conjunction or
  preposition but with the article (بالمياه -> المياه).

Stop words (``stopwords.py``) include greetings, thanks and presenting words ("welcome",
"مرحبا", "الحلقة"); whole formulas ("السلام عليكم ورحمة الله وبركاته", "بسم الله الرحمن
الرحيم", "thanks for watching") are found where they are said and their words count as stop
words there only, so "الله" or "السلام" still name a topic elsewhere.

Parts
-----
- summary: TextRank. Units are nodes; an edge weighs the content keys two units share,
  divided by the logs of their sizes so long units do not win by length alone. A weighted
  PageRank ranks them (a unit of nothing but stop words and greetings last), and the top ~30 %
  (1 to 7, always fewer than all, so always shorter than the transcript) are returned in their
  original order.
- keywords: YAKE-like. Candidates are runs of 1-3 words within one clause that neither start
  nor end with a stop word. A word scores by frequency, spread over units, the position of
  its first unit and (English) capitals mid-sentence; a phrase of several words by its
  words' scores (summed, over the square root of their number) times its cohesion (how often
  they occur together rather than apart), and only when it occurs at least twice and is not
  mostly part of a longer name ("الاصطناعي في التعليم" inside "الذكاء الاصطناعي في التعليم").
  A phrase that merely repeats a higher-ranked one (say "solar" after "solar panels") is
  dropped.
- keyTopicsWithBullets: the top key phrases, noun-like ones first, each with the best-ranked
  unit mentioning it that no earlier bullet showed (at most ``TOPIC_WORDS`` words), or alone;
  never longer than the transcript.
- titles: combinations of the key phrases that can name a topic ("A and B", "A: C", "B and D"):
  said at least twice, not part of a longer name, not a verb (يساعد), a bare comparative
  (cheaper) or -ing verb; in Arabic, definite or several-word phrases first. With fewer than
  three such phrases, the opening words of the best-ranked units (up to ``TITLE_WORDS``).
- introduction: the opening units, up to about ``INTRODUCTION_WORDS`` words (cut there with
  "…" when the first is longer); units of nothing but greetings at the start are left out.
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
from hams.engines.text.stopwords import (
    ARABIC_FORMULAS,
    ARABIC_STOP_WORDS,
    ENGLISH_FORMULAS,
    ENGLISH_STOP_WORDS,
)
from hams.errors import BadRequest
from hams.text.dictionary import ARABIC_LETTER, ARABIC_LETTER_FOLDS
from hams.text.normalize import normalize
from hams.text.sentences import split_sentences

LLM_SETTING = "set HAMS_LLM_BASE_URL and HAMS_LLM_MODEL to an OpenAI-compatible endpoint"

SUMMARY_RATIO = 0.3
SUMMARY_MAX_SENTENCES = 7
KEYWORD_COUNT = 10
TOPIC_COUNT = 5
TITLE_COUNT = 3
INTRODUCTION_WORDS = 60
TOPIC_WORDS = 30  # words of a unit shown under one key topic
TITLE_WORDS = 8  # words of a unit's opening used as a title
UNIT_WORDS = 30  # the length aimed at when an unpunctuated run is cut into units
UNIT_MAX_WORDS = 35
UNIT_MIN_WORDS = 12
LONG_SENTENCE_WORDS = 50  # a longer sentence in punctuated text is an unpunctuated run
SPARSE_WORDS = 40  # fewer sentence ends than one per this many words: unpunctuated text
_TITLE_CANDIDATES = 3 * KEYWORD_COUNT  # ranked phrases a title may be made from
_FRAGMENT_SHARE = 0.6  # a phrase this often next to the same word is part of a longer name
_DAMPING = 0.85  # PageRank's usual value
_MAX_ITERATIONS = 100
_TOLERANCE = 1e-9

_LANGUAGE_NAMES = {"ar": "Arabic", "en": "English"}
_BULLET = "•"
_DASH = "—"

# A word: letters and digits, Arabic marks inside it, and an apostrophe between letters (it's).
_WORD = re.compile(r"[^\W_](?:[^\W_]|[\u064b-\u065f\u0670]|['’](?=[^\W_]))*")
_MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # harakat, dagger alef, tatweel
_POSSESSIVE = re.compile(r"['’]s$")
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
# Where an unpunctuated run may be cut: after a clause mark, or before a word opening a clause.
_CLAUSE_END = re.compile(r"[،؛,;:][\"'”’»)\]]*$")
_ENGLISH_OPENERS = frozenset({"but", "because", "so", "although", "though", "while", "whereas",
                              "however", "then", "therefore"})
_VERB_PREFIXES = "يتن"  # the imperfect verb's prefixes: يساعد، تستخدم، نزرع
# English words that show the next word is a comparative ("much cheaper") or an -ing word a
# noun ("the charging").
_COMPARATIVE_CUES = frozenset({"much", "far", "even", "bit", "lot", "way", "slightly", "still",
                               "is", "are", "was", "were", "be", "been", "being", "get", "gets",
                               "getting", "got", "become", "becomes", "becoming", "became",
                               "stay", "stays", "remain", "remains", "seem", "seems", "look",
                               "looks", "feel", "feels", "no", "any", "ever"})
_COMPARATIVES = frozenset({"better", "worse", "cheaper", "faster", "slower", "easier", "harder",
                           "higher", "lower", "bigger", "smaller", "larger", "longer", "shorter",
                           "stronger", "weaker", "safer", "cleaner", "greater", "newer", "older",
                           "richer", "poorer", "closer", "wider", "warmer", "colder", "hotter",
                           "cooler", "quicker", "simpler", "healthier", "heavier", "lighter"})
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those", "our", "their",
                          "its", "his", "her", "my", "your"})


def _arabic_match_form(word: str) -> str:
    """The spelling used to compare Arabic words: marks gone, alef/yaa/taa marbuta folded."""
    return _MARKS.sub("", word).translate(ARABIC_LETTER_FOLDS)


_ARABIC_STOPS = frozenset(_arabic_match_form(word) for word in ARABIC_STOP_WORDS)
_ARABIC_OPENERS = frozenset(_arabic_match_form(word) for word in (
    "ثم", "لكن", "لأن", "حيث", "عندما", "بينما", "إذا", "لذلك", "بل", "أما", "فإن"))
# Prepositions a title phrase may hold between two nouns (الذكاء الاصطناعي في التعليم).
_ARABIC_TITLE_LINKS = frozenset(_arabic_match_form(word) for word in (
    "في", "من", "على", "عن", "مع", "إلى", "حول", "بين", "ضد", "عبر", "نحو", "دون"))


def _formula_index() -> dict[str, list[tuple[str, ...]]]:
    """Every greeting formula, folded like transcript words, under its first word and
    longest first."""
    formulas = [tuple(_arabic_match_form(word) for word in formula)
                for formula in ARABIC_FORMULAS]
    formulas += [tuple(word.lower() for word in formula) for formula in ENGLISH_FORMULAS]
    index: dict[str, list[tuple[str, ...]]] = {}
    for formula in sorted(formulas, key=len, reverse=True):
        index.setdefault(formula[0], []).append(formula)
    return index


_FORMULAS = _formula_index()


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
    """One word of a unit, with what grouping and display need."""

    key: str  # matching key: words with the same key are the same word
    display: str  # as shown in a key phrase: no attached conjunction, case voted later
    form: str  # the whole word folded (Arabic match form, English lowercase), for word lists
    content: bool  # may start or end a key phrase and counts for sentence similarity
    joined: bool  # only spaces between this word and the one before it
    start: int  # where the word begins in its unit
    end: int  # where it ends
    prefixed: bool = False  # Arabic: lost a conjunction or preposition before the article
    definite: bool = False  # Arabic: written with the article (المياه, بالمياه)
    capital: bool = False  # English: capitalized mid-sentence or an acronym (a name)
    weak_case: bool = False  # English: capitalized only because it opens the sentence
    formula: bool = False  # part of a greeting, blessing or thanks said whole


def _arabic_token(match: re.Match[str], bare: str, joined: bool, formula: bool) -> _Token:
    """`bare` is the word's match form, already made for the formula search."""
    word = match.group()
    stop = formula or bare in _ARABIC_STOPS or (
        len(bare) > 2 and bare[0] in _ARABIC_CONJUNCTIONS and bare[1:] in _ARABIC_STOPS)
    key, display, prefixed, definite = bare, word, False, False
    if not stop:
        for prefix in _ARABIC_PREFIXES:
            if bare.startswith(prefix) and len(bare) - len(prefix) >= 2:
                key, definite = bare[len(prefix):], True
                if prefix != "ال":
                    display = "ال" + _drop_letters(word, len(prefix))
                    prefixed = True
                break
    content = not stop and len(key) >= 2 and not key.isdigit()
    return _Token(key, display, bare, content, joined, match.start(), match.end(),
                  prefixed=prefixed, definite=definite, formula=formula)


def _latin_token(match: re.Match[str], lower: str, joined: bool, formula: bool,
                 first: bool) -> _Token:
    """`lower` is the word's folded form, already made for the formula search."""
    word = match.group()
    base = _POSSESSIVE.sub("", lower)
    stop = formula or lower in ENGLISH_STOP_WORDS or base in ENGLISH_STOP_WORDS
    acronym = len(word) > 1 and word.isupper()
    capitalized = word[0].isupper()
    capital = acronym or (capitalized and not first)
    display = word if capital else word.lower()
    content = not stop and len(base) >= 2 and not base.isdigit()
    weak = first and capitalized and not acronym
    return _Token(_fold_plural(base), display, lower, content, joined, match.start(),
                  match.end(), capital=capital, weak_case=weak, formula=formula)


def _latin_form(word: str) -> str:
    return word.lower().replace("’", "'")


def _formula_words(forms: list[str]) -> list[bool]:
    """Which words belong to a greeting or blessing formula, longest formula first."""
    marked = [False] * len(forms)
    index = 0
    while index < len(forms):
        for formula in _FORMULAS.get(forms[index], ()):
            if tuple(forms[index : index + len(formula)]) == formula:
                marked[index : index + len(formula)] = [True] * len(formula)
                index += len(formula) - 1
                break
        index += 1
    return marked


def _tokens(unit: str) -> list[_Token]:
    """The words of one unit; punctuation between two words is remembered as a break."""
    matches = list(_WORD.finditer(unit))
    arabic = [bool(ARABIC_LETTER.search(match.group())) for match in matches]
    forms = [_arabic_match_form(match.group()) if is_arabic else _latin_form(match.group())
             for match, is_arabic in zip(matches, arabic, strict=True)]
    formula = _formula_words(forms)
    tokens = []
    for index, match in enumerate(matches):
        joined = index > 0 and not unit[matches[index - 1].end() : match.start()].strip()
        if arabic[index]:
            tokens.append(_arabic_token(match, forms[index], joined, formula[index]))
        else:
            tokens.append(_latin_token(match, forms[index], joined, formula[index],
                                       first=index == 0))
    return tokens


def _opener_strength(word: str) -> int:
    """How well a unit may start at `word`: 2 before a clause-opening conjunction (لأن, ويرى,
    وقد, but, because), 1 before another و-word or "and"/"or", 0 elsewhere."""
    match = _WORD.search(word)
    if match is None:
        return 0
    if not ARABIC_LETTER.search(match.group()):
        form = _latin_form(match.group())
        return 2 if form in _ENGLISH_OPENERS else 1 if form in ("and", "or") else 0
    form = _arabic_match_form(match.group())
    if form in _ARABIC_OPENERS or form == "و":
        return 2
    if len(form) >= 3 and form[0] in _ARABIC_CONJUNCTIONS:
        rest = form[1:]
        if rest in _ARABIC_STOPS or rest in _ARABIC_OPENERS:
            return 2  # وقد، وهذا، فإن، ولكن
        if form[0] == "و":  # ويرى، وتساعد open a clause; والمدارس may only continue a list
            return 2 if rest[0] in _VERB_PREFIXES and len(rest) >= 3 else 1
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


def _units(text: str, segments: tuple[str, ...]) -> list[str]:
    """The units the parts are built from: sentences, or for a text with little punctuation
    the recognizer's segments when they hold exactly its words, else runs cut into pieces of
    about ``UNIT_WORDS`` words. A punctuated sentence is cut only past
    ``LONG_SENTENCE_WORDS``."""
    sentences = split_sentences(text, max_chars=len(text) + 1)
    sparse = len(sentences) * SPARSE_WORDS < len(text.split())
    if sparse and segments:
        pieces = [" ".join(normalize(segment).split()) for segment in segments]
        pieces = [piece for piece in pieces if piece]
        if pieces and _WORD.findall(" ".join(pieces)) == _WORD.findall(text):
            sentences = pieces
    limit = UNIT_MAX_WORDS if sparse else LONG_SENTENCE_WORDS
    units = []
    for sentence in sentences:
        units.extend(_cut_run(sentence) if len(sentence.split()) > limit else [sentence])
    return units


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
    spots: list[tuple[int, int]] = field(default_factory=list)  # (unit, first word) each time
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
    if any(token.key in _COORDINATORS or token.formula for token in run):
        return False
    keys = [token.key for token in run if token.content]
    return len(keys) == len(set(keys))


class _Document:
    """A normalized transcript, cut into units and tokenized once for every part."""

    def __init__(self, text: str, language: str, segments: tuple[str, ...] = ()) -> None:
        self.text = text
        self.language = language
        self.sentences = _units(text, segments)
        self.tokens = [_tokens(sentence) for sentence in self.sentences]
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
    def key_phrases(self) -> list[_Phrase]:
        """The distinct key phrases, best first (at most ``KEYWORD_COUNT``)."""
        return self.ranked_phrases[:KEYWORD_COUNT]

    @cached_property
    def ranked_phrases(self) -> list[_Phrase]:
        """The distinct key phrases, best first (at most ``_TITLE_CANDIDATES``)."""
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
        chosen: list[_Phrase] = []
        for phrase in ranked:
            if not any(_repeats(phrase, better) for better in chosen):
                chosen.append(phrase)
                if len(chosen) == _TITLE_CANDIDATES:
                    break
        return chosen

    @staticmethod
    def _record(phrases: dict[tuple[str, ...], _Phrase], run: list[_Token], sentence: int,
                start: int, position: int) -> None:
        keys = tuple(token.key for token in run)
        phrase = phrases.get(keys)
        if phrase is None:
            content = frozenset(token.key for token in run if token.content)
            phrase = phrases[keys] = _Phrase(keys, content, position)
        phrase.count += 1
        phrase.sentences.add(sentence)
        phrase.spots.append((sentence, start))
        form = " ".join(token.display for token in run)
        (phrase.weak_forms if run[0].weak_case else phrase.forms)[form] += 1

    def verb_like(self, token: _Token) -> bool:
        """Whether an Arabic word looks like a verb in the imperfect (يساعد، وتستخدم): a
        prefix ي ت ن, no article, and never written with the article in this transcript.
        A ت or ن word ending in ة or ات, or shaped تفعيل (تعليم), is taken for a noun."""
        if not self.arabic or token.definite or not ARABIC_LETTER.search(token.form):
            return False
        form = token.form
        if len(form) >= 4 and form[0] in _ARABIC_CONJUNCTIONS and form[1] in _VERB_PREFIXES:
            form = form[1:]
        if len(form) < 3 or form[0] not in _VERB_PREFIXES or form in self.definite:
            return False
        if form[0] == "ي":
            return True
        written = _MARKS.sub("", token.display)
        return not (written.endswith(("ة", "ات")) or (len(form) == 5 and form[3] == "ي"))

    def fragment(self, phrase: _Phrase) -> bool:
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

    def _continues(self, left: _Token, right: _Token) -> bool:
        """Whether two neighbouring words may belong to one name: both content words, no
        punctuation between, neither a verb, and the second not joined by و or a preposition
        (الشمس والماء, الري بالتنقيط)."""
        if not (left.content and right.content and right.joined):
            return False
        if right.prefixed or (self.arabic and right.form[0] in _ARABIC_CONJUNCTIONS):
            return False
        return not (self.verb_like(left) or self.verb_like(right))

    def nameable(self, phrase: _Phrase) -> bool:
        """Whether `phrase` can name a topic: a noun phrase, not a piece of a longer one,
        not a verb (يساعد) nor a bare comparative (cheaper) or -ing verb (growing)."""
        if self.fragment(phrase):
            return False
        unit, start = phrase.spots[0]
        run = self.tokens[unit][start : start + len(phrase.keys)]
        if self.arabic:
            return not self.verb_like(run[0]) and all(
                token.content or token.form in _ARABIC_TITLE_LINKS for token in run[1:-1])
        if any(not token.content and token.form not in _TITLE_SMALL_WORDS
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

    def _comparative(self, token: _Token) -> bool:
        form = token.form
        if len(form) < 5 or not form.endswith("er"):
            return False
        return (form in _COMPARATIVES or "than" in self._neighbours(form, 1)
                or bool(_COMPARATIVE_CUES & self._neighbours(form, -1)))

    def _verb_ing(self, token: _Token) -> bool:
        form = token.form
        return (len(form) >= 6 and form.endswith("ing")
                and not _DETERMINERS & self._neighbours(form, -1))

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
        return opening if self.arabic else _capitalize(opening)


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


def _cap_words(text: str, limit: int) -> str:
    """`text` cut after its `limit`-th word, with "…" when something was cut."""
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]).rstrip(".!?؟…،,;؛:") + "…"


def _summary(document: _Document) -> str:
    count = len(document.sentences)
    wanted = min(SUMMARY_MAX_SENTENCES, max(1, int(count * SUMMARY_RATIO + 0.5)))
    if count >= 2:
        wanted = min(wanted, count - 1)
    chosen: dict[str, int] = {}  # a unit said twice is summarized once
    for index in document.best_sentences(range(count)):
        chosen.setdefault(document.sentences[index].casefold(), index)
        if len(chosen) == wanted:
            break
    picked = list(chosen.values())  # best first

    def joined() -> str:
        return " ".join(document.sentences[index] for index in sorted(picked))

    # Units cut from "A.B" are joined by a space the text did not have: never as long as it.
    while count >= 2 and len(picked) > 1 and len(joined()) >= len(document.text):
        picked.pop()
    return joined()


def _keywords(document: _Document) -> str:
    separator = "، " if document.arabic else ", "
    return separator.join(phrase.display for phrase in document.key_phrases)


def _key_topics(document: _Document) -> str:
    """A bullet for each of the top key phrases, those that can name a topic first, with the
    best unit mentioning it that no earlier bullet showed (at most ``TOPIC_WORDS`` words), or
    the phrase alone when every such unit was shown or the unit would not fit: the bullets
    together are never longer than the transcript."""
    phrases = sorted(document.key_phrases, key=lambda phrase: not document.nameable(phrase))
    lines: list[str] = []
    size, used = -1, set()  # size: characters so far, counting the newlines between lines
    for phrase in phrases[:TOPIC_COUNT]:
        name = phrase.display if document.arabic else _capitalize(phrase.display)
        fresh = [index for index in document.best_sentences(phrase.sentences)
                 if index not in used]
        options = [(f"{_BULLET} {name}", None)]
        if fresh:
            unit = _cap_words(document.sentences[fresh[0]], TOPIC_WORDS)
            options.insert(0, (f"{_BULLET} {name} {_DASH} {unit}", fresh[0]))
        for line, index in options:
            if size + 1 + len(line) <= len(document.text):
                lines.append(line)
                size += 1 + len(line)
                used.add(index)
                break
    if not lines:  # nothing but stop words: the best unit is the only topic
        best = document.best_sentences(range(len(document.sentences)))[0]
        lines.append(f"{_BULLET} {_cap_words(document.sentences[best], TOPIC_WORDS)}")
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
    """Titles from the key phrases that can name the topic (noun phrases; in Arabic, definite
    or of several words first), then the opening words of the best-ranked units."""
    good = [phrase for phrase in document.ranked_phrases
            if phrase.count >= 2 and document.nameable(phrase)]
    if document.arabic:  # stable: by rank within each group
        good.sort(key=lambda p: not (len(p.keys) > 1 or p.display.startswith("ال")))
    names = [phrase.display for phrase in _title_names(good)]
    if not document.arabic:
        names = [_title_case(name) for name in names]
    conjunction = " و" if document.arabic else " and "  # Arabic و is written on the next word
    best = document.best_sentences(range(len(document.sentences)))[:TITLE_COUNT]
    openings = [document.opening(index) for index in best]
    options = []
    if len(names) >= 2:
        options.append(names[0] + conjunction + names[1])
    if len(names) >= 3:
        options.append(f"{names[0]}: {names[2]}")
    if len(names) >= 4:
        options.append(names[1] + conjunction + names[3])
    elif len(names) == 3:
        options.append(names[1] + conjunction + names[2])
    if len(good) < TITLE_COUNT:  # too few names: the best units say it better
        options += openings + names
    else:
        options += [f"{names[0]}: {names[1]}", *names, *openings]
    titles: list[str] = []
    for option in options:
        if option and option.casefold() not in {title.casefold() for title in titles}:
            titles.append(option)
    return "\n".join(titles[:TITLE_COUNT])


def _introduction(document: _Document) -> str:
    """The opening units, up to about ``INTRODUCTION_WORDS`` words (the first one cut there
    when longer, with "…"); units of nothing but greetings at the start are left out."""
    first = next((index for index, content in enumerate(document.has_content) if content), 0)
    chosen, words = [], 0
    for sentence in document.sentences[first:]:
        size = len(sentence.split())
        if chosen and words + size > INTRODUCTION_WORDS:
            break
        chosen.append(sentence)
        words += size
    return _cap_words(" ".join(chosen), INTRODUCTION_WORDS)


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

    def check(self, request: ContentRequest) -> None:
        """Nothing to check beyond ``refusal``: the engine has no size limit to meet."""

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
        document = _Document(text, request.transcript_language, request.segments)
        parts = {part: normalize(_WRITERS[part](document)) for part in request.parts}
        return ContentResult(parts=parts)
