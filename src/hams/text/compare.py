"""Arabic text folded for scoring speech recognition, so spelling variants that sound alike match.

    fold_for_scoring = normalize (NFC, tatweel, invisible controls, digits to ASCII)
                       -> strip harakat, shadda, sukun, tanwin, superscript alef, Quranic marks
                       -> أ إ آ ٱ -> ا,  ى -> ي,  ة -> ه
                       -> punctuation (، ؛ ؟ « » and every Unicode punctuation mark) -> space
                       -> lower case, one space between words

Written transcripts of the same speech differ in exactly these ways (a reference typed without
harakat, a recognizer writing ى for final ي or إ for ا), so WER and CER count only what was
heard differently. Used by bench/arabic_wer.py and bench/arabic_tts_diacritics.py; never on
text that will be spoken (it throws away pronunciation).
"""

from __future__ import annotations

import re
import unicodedata

from hams.text.dictionary import ARABIC_LETTER_FOLDS, ARABIC_MARKS
from hams.text.normalize import normalize

_MARK = re.compile(f"[{ARABIC_MARKS}]")


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def fold_for_scoring(text: str) -> str:
    """The form in which two transcripts are compared word by word (see the module docstring)."""
    text = _MARK.sub("", normalize(text, "ar"))
    text = text.translate(ARABIC_LETTER_FOLDS)
    text = "".join(" " if _is_punctuation(c) else c for c in text)
    return " ".join(text.casefold().split())


def strip_marks(text: str) -> str:
    """``text`` without Arabic combining marks, everything else kept: the input a diacritizer
    gets when it is scored against a vowelled original."""
    return _MARK.sub("", text)
