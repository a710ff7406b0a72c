"""The scoring fold makes spellings of the same speech equal, and keeps different words apart."""

from __future__ import annotations

import pytest

from hams.text.compare import fold_for_scoring, strip_marks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مُحَمَّدٌ يَقْرَأُ الكِتَابَ", "محمد يقرا الكتاب"),  # harakat, shadda, tanwin; أ -> ا
        ("الرَّحْمَـٰنِ", "الرحمن"),  # tatweel and superscript alef
        ("أحمد إبراهيم آمنة ٱلله", "احمد ابراهيم امنه الله"),  # alef forms, ة -> ه
        ("مستشفى على", "مستشفي علي"),  # alef maksura -> ya
        ("نعم، لا؛ لماذا؟ «حسنا»!", "نعم لا لماذا حسنا"),  # Arabic and Latin punctuation
        ("العدد ١٢٣ و۴٥", "العدد 123 و45"),  # Arabic-Indic and Eastern digits
        ("  سطر\nآخر\t هنا ", "سطر اخر هنا"),  # one space, no newline
        ("Hello, World", "hello world"),
        ("مؤسسة شئون", "مؤسسه شئون"),  # hamza on waw and ya is a different letter: kept
    ],
)
def test_fold_for_scoring(text: str, expected: str) -> None:
    assert fold_for_scoring(text) == expected


def test_different_words_stay_different() -> None:
    assert fold_for_scoring("كتب") != fold_for_scoring("كتاب")
    assert fold_for_scoring("سار") != fold_for_scoring("صار")


def test_strip_marks_keeps_letters_and_punctuation() -> None:
    assert strip_marks("إِنَّهُ لَيْسَ، لَهُ سُلْطَانٌ.") == "إنه ليس، له سلطان."
