"""Pronunciation dictionary: whole-word replacements (brand names, acronyms, loan words)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

# Arabic combining marks (harakat, shadda, sukun, superscript alef, Quranic marks): part of a
# word, so "هامس" never matches inside "هامسُون", but trailing marks go with a matched word.
ARABIC_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
_BEFORE = rf"(?<![\w{ARABIC_MARKS}])"
_AFTER = rf"[{ARABIC_MARKS}]*(?![\w{ARABIC_MARKS}])"


_PROCLITIC = "(?P<pre>[وف]?[بلك]?)"  # و ف ب ل ك written attached: وهامس, بهامس, فلهامس
ARABIC_LETTER_FOLDS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
"""Letter forms that spell the same sound: folded when words are compared, never spoken."""
ARABIC_LETTER = re.compile(r"[\u0621-\u064a\u0671-\u06d3]")


def _alternation(keys: list[str]) -> str:
    """Regex alternation of literal keys, longest first, so "New York City" beats "New York"."""
    return "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True)) or "(?!)"


@lru_cache(maxsize=32)
def _compile(keys: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word pattern; Arabic keys of 3+ letters may also carry an attached proclitic."""
    arabic = [k for k in keys if len(k) >= 3 and ARABIC_LETTER.match(k)]
    plain, prefixed = _alternation(list(keys)), _alternation(arabic)
    return re.compile(
        rf"{_BEFORE}(?:(?P<key>{plain})|{_PROCLITIC}(?P<ar>{prefixed})){_AFTER}", re.IGNORECASE
    )


def apply_dictionary(text: str, replacements: Mapping[str, str]) -> str:
    """Replace whole words only ("API" leaves "APIs" alone), case-insensitively for Latin;
    an Arabic entry also matches after an attached و ف ب ل ك, which is kept."""
    lookup = {key.strip().lower(): value for key, value in replacements.items() if key.strip()}
    if not lookup:
        return text

    def replace(match: re.Match[str]) -> str:
        key = match.group("key") or match.group("ar")
        return (match.group("pre") or "") + lookup.get(key.lower(), key)

    return _compile(tuple(sorted(lookup))).sub(replace, text)
