"""Words of the extractive engine: what a word is, the key that groups its forms, how it is
displayed, and which words are stop words or part of a greeting formula.

Its own module because every other step (units, phrases, rankings, titles) works on these
tokens and word lists, and the Arabic and English morphology is the part most often tuned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hams.engines.text.stopwords import (
    ARABIC_FORMULAS,
    ARABIC_STOP_WORDS,
    ENGLISH_FORMULAS,
    ENGLISH_STOP_WORDS,
)
from hams.text.dictionary import ARABIC_LETTER, ARABIC_LETTER_FOLDS

# A word: letters and digits, Arabic marks inside it, and an apostrophe between letters (it's).
WORD = re.compile(r"[^\W_](?:[^\W_]|[\u064b-\u065f\u0670]|['’](?=[^\W_]))*")
MARKS = re.compile(r"[\u064b-\u065f\u0670\u0640]")  # harakat, dagger alef, tatweel
_POSSESSIVE = re.compile(r"['’]s$")
# Longest first. Every entry ends in the article, or is ل + article (ل + المياه = للمياه).
_ARABIC_PREFIXES = ("وبال", "وكال", "فبال", "فكال", "ولل", "فلل", "وال", "فال", "بال", "كال",
                    "لل", "ال")
ARABIC_CONJUNCTIONS = "وف"  # may attach to a stop word: وفي، فإن، وهذا
_UNFOLDED_PLURALS = frozenset({"news", "series", "species", "means", "lens", "physics",
                               "economics", "politics", "mathematics", "always", "perhaps"})
TITLE_SMALL_WORDS = frozenset({"a", "an", "the", "and", "or", "but", "nor", "of", "in", "on",
                               "at", "to", "for", "by", "with", "from", "as", "into"})
VERB_PREFIXES = "يتن"  # the imperfect verb's prefixes: يساعد، تستخدم، نزرع
# English words that show the next word is a comparative ("much cheaper") or an -ing word a
# noun ("the charging").
COMPARATIVE_CUES = frozenset({"much", "far", "even", "bit", "lot", "way", "slightly", "still",
                              "is", "are", "was", "were", "be", "been", "being", "get", "gets",
                              "getting", "got", "become", "becomes", "becoming", "became",
                              "stay", "stays", "remain", "remains", "seem", "seems", "look",
                              "looks", "feel", "feels", "no", "any", "ever"})
COMPARATIVES = frozenset({"better", "worse", "cheaper", "faster", "slower", "easier", "harder",
                          "higher", "lower", "bigger", "smaller", "larger", "longer", "shorter",
                          "stronger", "weaker", "safer", "cleaner", "greater", "newer", "older",
                          "richer", "poorer", "closer", "wider", "warmer", "colder", "hotter",
                          "cooler", "quicker", "simpler", "healthier", "heavier", "lighter"})
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those", "our", "their",
                         "its", "his", "her", "my", "your"})


def arabic_match_form(word: str) -> str:
    """The spelling used to compare Arabic words: marks gone, alef/yaa/taa marbuta folded."""
    return MARKS.sub("", word).translate(ARABIC_LETTER_FOLDS)


ARABIC_STOPS = frozenset(arabic_match_form(word) for word in ARABIC_STOP_WORDS)
# Prepositions a title phrase may hold between two nouns (الذكاء الاصطناعي في التعليم).
ARABIC_TITLE_LINKS = frozenset(arabic_match_form(word) for word in (
    "في", "من", "على", "عن", "مع", "إلى", "حول", "بين", "ضد", "عبر", "نحو", "دون"))


def _formula_index() -> dict[str, list[tuple[str, ...]]]:
    """Every greeting formula, folded like transcript words, under its first word and
    longest first."""
    formulas = [tuple(arabic_match_form(word) for word in formula)
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
        while index < len(word) and MARKS.match(word[index]):
            index += 1
    return word[index:]


@dataclass(frozen=True)
class Token:
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


def _arabic_token(match: re.Match[str], bare: str, joined: bool, formula: bool) -> Token:
    """`bare` is the word's match form, already made for the formula search."""
    word = match.group()
    stop = formula or bare in ARABIC_STOPS or (
        len(bare) > 2 and bare[0] in ARABIC_CONJUNCTIONS and bare[1:] in ARABIC_STOPS)
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
    return Token(key, display, bare, content, joined, match.start(), match.end(),
                 prefixed=prefixed, definite=definite, formula=formula)


def _latin_token(match: re.Match[str], lower: str, joined: bool, formula: bool,
                 first: bool) -> Token:
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
    return Token(_fold_plural(base), display, lower, content, joined, match.start(),
                 match.end(), capital=capital, weak_case=weak, formula=formula)


def latin_form(word: str) -> str:
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


def tokenize(unit: str) -> list[Token]:
    """The words of one unit; punctuation between two words is remembered as a break."""
    matches = list(WORD.finditer(unit))
    arabic = [bool(ARABIC_LETTER.search(match.group())) for match in matches]
    forms = [arabic_match_form(match.group()) if is_arabic else latin_form(match.group())
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


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]
