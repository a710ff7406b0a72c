"""Text front end run before every text-to-speech engine, Arabic first.

    prepare_text = normalize -> (pronunciation dictionary) -> expand_numbers -> split_sentences

Engines never see digits, tatweel or invisible controls, and get sentences short enough to
start streaming quickly. Harakat and the letters alef, yaa and taa marbuta are left untouched
because they carry pronunciation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hams.text.dictionary import apply_dictionary
from hams.text.expand import expand_numbers
from hams.text.normalize import collapse_whitespace, normalize
from hams.text.numbers import number_to_words
from hams.text.sentences import MAX_CHARS, split_sentences

_SPEAKABLE = re.compile(r"\w")

__all__ = [
    "apply_dictionary",
    "expand_numbers",
    "normalize",
    "number_to_words",
    "prepare_text",
    "split_sentences",
]


def prepare_text(
    text: str,
    language: str,
    *,
    replacements: Mapping[str, str] | None = None,
    max_chars: int = MAX_CHARS,
) -> list[str]:
    """Normalize, apply the optional dictionary, read numbers as words in `language` ("ar" or
    "en"), and split into non-empty, stripped sentences ready for synthesis."""
    text = normalize(text, language)
    if replacements:
        keys = {normalize(k, language): normalize(v, language) for k, v in replacements.items()}
        text = apply_dictionary(text, keys)
    text = expand_numbers(text, language)
    sentences = (collapse_whitespace(s) for s in split_sentences(text, max_chars=max_chars))
    return [s for s in sentences if _SPEAKABLE.search(s)]  # "..." alone has nothing to say
