"""The whole front end on realistic text, and the pronunciation dictionary."""

from __future__ import annotations

import re

import pytest

from hams.text import apply_dictionary, prepare_text

ARABIC_PARAGRAPH = """مرحبًا بكم في منصة هامس!   تأسست الشركة في ٢٠٢٦-١١-٢٩، ويعمل فيها ١٢٥٠ موظفًا.
ارتفعت الأرباح بنسبة ٣٫٥٪ لتصل إلى 1,250,000 ر.س. هل تعلم أن الاجتماع يبدأ الساعة 10:30؟
السعر $5 فقط، والخصم 50% حتى 31/12/2026… اتصل على 0501234567 أو زر https://hams.example.com."""


def test_arabic_paragraph_has_no_digits_left() -> None:
    sentences = prepare_text(ARABIC_PARAGRAPH, "ar")
    assert sentences == [
        "مرحبًا بكم في منصة هامس!",
        "تأسست الشركة في تسعة وعشرون نوفمبر ألفان وستة وعشرون، ويعمل فيها ألف ومائتان وخمسون "
        "موظفًا.",
        "ارتفعت الأرباح بنسبة ثلاثة فاصلة خمسة بالمائة لتصل إلى مليون ومائتان وخمسون ألف ريال "
        "سعودي.",
        "هل تعلم أن الاجتماع يبدأ الساعة العاشرة والنصف؟",
        "السعر خمسة دولارات فقط، والخصم خمسون بالمائة حتى واحد وثلاثون ديسمبر ألفان وستة وعشرون…",
        "اتصل على صفر خمسة صفر واحد اثنان ثلاثة أربعة خمسة ستة سبعة أو زر "
        "https://hams.example.com.",
    ]
    for sentence in sentences:
        assert not re.search(r"\d", sentence)
        assert sentence == sentence.strip() and "  " not in sentence


def test_english_paragraph() -> None:
    text = "On 2026-11-29 we shipped v1.2.3 to 1,250 users for $5.99. Growth was 50%!\n"
    text += "Call Dr. Lee."
    assert prepare_text(text, "en") == [
        "On the twenty-ninth of November twenty twenty-six we shipped v one dot two dot three to "
        "one thousand two hundred fifty users for five dollars and ninety-nine cents.",
        "Growth was fifty percent!",
        "Call Dr. Lee.",
    ]


def test_long_arabic_text_streams_in_short_sentences() -> None:
    clause = "وقد ناقش المجتمعون في الجلسة الثانية عددًا من الموضوعات المهمة"
    sentences = prepare_text("، ".join([clause] * 10) + ".", "ar")
    assert len(sentences) > 1 and all(len(s) <= 200 for s in sentences)


def test_empty_input_gives_no_sentences() -> None:
    assert prepare_text("", "ar") == []
    assert prepare_text(" \u200f\n ـ ", "en") == []


def test_prepare_text_applies_the_dictionary_before_numbers() -> None:
    replacements = {"API": "إيه بي آي", "هامس": "هَامِس"}
    sentences = prepare_text("استخدم API ومنصة هامـس ٣ مرات.", "ar", replacements=replacements)
    assert sentences == ["استخدم إيه بي آي ومنصة هَامِس ثلاثة مرات."]


def test_accepts_language_tags() -> None:
    assert prepare_text("5", "ar-SA") == ["خمسة"]
    assert prepare_text("5", "en-US") == ["five"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The API and APIs", "The A P I and APIs"),
        ("api, Api; API.", "A P I, A P I; A P I."),
        ("myAPI API_KEY API2", "myAPI API_KEY API2"),
        ("New York City and New York", "NYC and NY"),
        ("منصة هامس وهامسة", "منصة هَامِس وهامسة"),
        ("وهامس بهامس فلهامس", "وهَامِس بهَامِس فلهَامِس"),
        ("الهامس هامسون", "الهامس هامسون"),
        ("هامسُ (هامس)", "هَامِس (هَامِس)"),
    ],
)
def test_dictionary_replaces_whole_words_only(text: str, expected: str) -> None:
    replacements = {
        "API": "A P I",
        "New York": "NY",
        "New York City": "NYC",
        "هامس": "هَامِس",
    }
    assert apply_dictionary(text, replacements) == expected


def test_short_arabic_entries_do_not_match_after_a_prefix() -> None:
    assert apply_dictionary("ورد رد", {"رد": "ردّ"}) == "ورد ردّ"


def test_dictionary_with_no_entries_is_a_no_op() -> None:
    assert apply_dictionary("نص", {}) == "نص"
    assert apply_dictionary("نص", {"  ": "x"}) == "نص"


def test_entry_starting_with_a_prefix_letter_wins_over_the_prefix() -> None:
    assert apply_dictionary("وهامس", {"هامس": "A", "وهامس": "B"}) == "B"
