"""Text folded for keyword search, so the spellings of one word that people actually type
(with or without harakat, أ or ا, ة or ه, ى or ي, ٣ or 3, Café or cafe) meet in the index.

    normalize_for_search: NFKD -> no combining marks (harakat, hamza above/below, madda,
                          Latin accents) -> no tatweel or invisible controls -> ASCII digits
                          -> ٱ -> ا, ة -> ه, ى ی -> ي, ک -> ك -> casefold
                          -> anything but letters and digits -> one space
    search_tokens:        the words of that, less stop words, lightly stemmed

NFKD splits أ إ آ ؤ ئ into a base letter and a mark, so dropping marks folds them to ا, و
and ي. The fold is idempotent: normalized text may be stored and normalized again.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal

from hams.text.dictionary import ARABIC_MARKS

Stemming = Literal["none", "prefixes", "light"]
DEFAULT_STEMMING: Stemming = "light"

_MARKS = re.compile(f"[\u0300-\u036f{ARABIC_MARKS}]")
_FOLDS = str.maketrans({
    "ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك",
    "\u0640": None, "\u00ad": None, "\u061c": None, "\ufeff": None,
    **{chr(c): None for c in range(0x200B, 0x2010)},  # zero-width and direction marks
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic (Persian, Urdu)
})
_NOT_WORD = re.compile(r"[\W_]+")

# Words that tell BM25 nothing about a topic, in their normalized spelling. Questions are
# full of them ("how do I", "هل يمكنني"), documents too.
ENGLISH_STOP_WORDS = frozenset((
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
    "for", "from", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his",
    "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my",
    "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out",
    "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the",
    "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
    "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
    "s", "t", "d", "ll", "m", "re", "ve",  # what is left of it's, can't, I'd, you'll, ...
))
ARABIC_STOP_WORDS = frozenset((
    "في", "من", "الي", "علي", "عن", "مع", "هل", "ما", "ماذا", "متي", "كيف", "اين", "لماذا",
    "كم", "اي", "هذا", "هذه", "ذلك", "تلك", "التي", "الذي", "الذين", "هو", "هي", "هم", "انا",
    "انت", "انتم", "نحن", "او", "ام", "ثم", "قد", "لا", "لم", "لن", "ان", "انه", "انها", "كان",
    "كانت", "يكون", "كل", "بعض", "عند", "اذا", "لو", "حتي", "بين", "ولا", "وما", "وهل", "وفي",
    "ومن", "فهل", "لي", "لك", "له", "لها", "لنا", "به", "بها", "يا", "اما", "الا", "غير",
    "ايضا", "هناك", "هنا",
))
_STOP_WORDS = ENGLISH_STOP_WORDS | ARABIC_STOP_WORDS

# Light stemming after Larkey, Ballesteros & Connell's light10 (2002), in normalized
# spelling (ة is already ه): و "and", then the article with its prepositions, then suffixes.
_ARABIC_PREFIXES = ("وال", "بال", "كال", "فال", "لل", "ال")
_ARABIC_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")
_ARABIC_WORD = re.compile(r"[\u0621-\u064a]+")


def normalize_for_search(text: str) -> str:
    """The folded form described in the module docstring: words separated by single spaces."""
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    text = text.translate(_FOLDS).casefold()
    return unicodedata.normalize("NFC", " ".join(_NOT_WORD.sub(" ", text).split()))


def search_tokens(text: str, *, stemming: Stemming = DEFAULT_STEMMING,
                  stop_words: bool = True) -> list[str]:
    """The terms BM25 indexes for ``text`` (original or already normalized)."""
    tokens = normalize_for_search(text).split()
    if stop_words:
        tokens = [t for t in tokens if t not in _STOP_WORDS]
    if stemming == "none":
        return tokens
    stem = _stem_light if stemming == "light" else _stem_prefixes
    return [stem(t) for t in tokens]


@lru_cache(maxsize=100_000)  # a knowledge base repeats its words: stem each once
def _stem_light(token: str) -> str:
    if _ARABIC_WORD.fullmatch(token):
        return _stem_arabic(token, suffixes=True)
    return _stem_english(token) if token.isalpha() else token


@lru_cache(maxsize=100_000)
def _stem_prefixes(token: str) -> str:
    return _stem_arabic(token, suffixes=False) if _ARABIC_WORD.fullmatch(token) else token


def _stem_arabic(word: str, *, suffixes: bool) -> str:
    """"prefixes": one article prefix (ال وال بال ...) when 2 letters stay. "light" (light10):
    first و when 3 letters stay, then the article, then each suffix in turn while 2 stay."""
    if suffixes and word.startswith("و") and len(word) >= 4:
        word = word[1:]
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            word = word[len(prefix):]
            break
    if suffixes:
        for suffix in _ARABIC_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                word = word[: -len(suffix)]
    return word


def _stem_english(word: str) -> str:
    """Harman's S-stemmer: plurals only (refunds -> refund, policies -> policy), which
    rarely joins words of different meaning."""
    if len(word) > 3 and word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word
