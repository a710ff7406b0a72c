"""Unicode clean-up that keeps everything a voice needs (harakat, hamza, taa marbuta)."""

from __future__ import annotations

import re
import unicodedata

TATWEEL = "\u0640"
# Invisible characters that change nothing a listener hears: zero-width, bidi controls, soft
# hyphen, byte-order mark.
_INVISIBLE = re.compile(r"[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Compatibility forms safe to fold with NFKC: Latin ligatures, Arabic presentation forms
# (ﻻ -> لا, ﷲ -> الله), full-width and half-width forms. NFKC elsewhere would turn ² into 2.
_COMPAT = re.compile(r"[\ufb00-\ufdff\ufe70-\ufefe\uff00-\uffef]+")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\u0085\v\f]")
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace except the newline, which ends a sentence
_BLANK_LINES = re.compile(r" ?\n[\s]*")
_DIGIT = re.compile(r"\d")
_SEPARATORS = str.maketrans({"\u066b": ".", "\u066c": ","})  # Arabic decimal / thousands


def western_digits(text: str) -> str:
    """Turn Arabic-Indic, Eastern Arabic-Indic and any other decimal digits into ASCII 0-9,
    and the Arabic decimal and thousands separators into "." and ","."""
    return _DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text).translate(_SEPARATORS)


def collapse_whitespace(text: str) -> str:
    """One space between words, one newline between lines, nothing at either end."""
    text = _SPACES.sub(" ", _LINE_BREAKS.sub("\n", text))
    return _BLANK_LINES.sub("\n", text).strip()


def normalize(text: str, language: str = "ar") -> str:
    """Make text predictable for number expansion and sentence splitting without changing
    its pronunciation: NFC, safe NFKC folds, no tatweel or invisible controls, ASCII digits.

    `language` is accepted for symmetry with the other steps: the rules are the same for both.
    """
    text = unicodedata.normalize("NFC", text)
    text = _COMPAT.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _INVISIBLE.sub("", text.replace(TATWEEL, ""))
    text = western_digits(text)
    return collapse_whitespace(text)
