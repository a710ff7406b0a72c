"""Sentence splitting: Arabic and Latin punctuation, the places a period does not end a
sentence, and long Arabic sentences cut at a comma for streaming."""

from __future__ import annotations

import random

import pytest

from hams.text import split_sentences

ARABIC_CLAUSE = "هذه جملة عربية طويلة تحتوي على كلمات كثيرة"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مرحبا بكم. كيف حالكم؟ أنا بخير!", ["مرحبا بكم.", "كيف حالكم؟", "أنا بخير!"]),
        ("Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]),
        ("انتظر… ثم تكلم", ["انتظر…", "ثم تكلم"]),
        ("Wait... what?! Yes.", ["Wait...", "what?!", "Yes."]),
        ("كيف؟هل أنت بخير", ["كيف؟", "هل أنت بخير"]),
        ("انتهى.بدأ غيره", ["انتهى.", "بدأ غيره"]),
        ("سطر أول\nسطر ثان\r\n\nسطر ثالث", ["سطر أول", "سطر ثان", "سطر ثالث"]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("قال: «انتهى.» ثم خرج.", ["قال: «انتهى.»", "ثم خرج."]),
        ("It's (really.) fine.", ["It's (really.)", "fine."]),
    ],
)
def test_splits_after_terminators(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The price is 3.5 dollars today.",
        "السعر 3.5 ريال اليوم.",
        "Dr. Smith met Mr. Jones and Mrs. Brown.",
        "Bring fruit, e.g. apples, i.e. something sweet.",
        "She lives in the U.S. since 2020.",
        "Call J. R. Tolkien now.",
        "قال د. أحمد إن السعر 50 ر.س فقط.",
        "Visit https://example.com/a.b?c=1&d=2 today.",
        "Visit www.example.org/path.html today.",
        "Write to john.doe@example.co.uk today.",
        "The file is report.v2.pdf today.",
        "زوروا https://example.com/مرحبا.بكم اليوم.",
        "مرحبا، كيف حالك؛ أنا بخير، شكرا.",
        "Hello, world; fine: thanks.",
    ],
)
def test_keeps_sentences_whole(text: str) -> None:
    assert split_sentences(text) == [text]


def test_url_at_the_end_of_a_sentence_still_splits() -> None:
    assert split_sentences("See https://example.com. Then go.") == [
        "See https://example.com.",
        "Then go.",
    ]


def test_numbered_lines_keep_their_marker() -> None:
    assert split_sentences("1. First item\n2. Second item") == ["1. First item", "2. Second item"]


def test_a_year_before_the_period_ends_the_sentence() -> None:
    assert split_sentences("It opened in 2026. It grew.") == ["It opened in 2026.", "It grew."]


def test_long_arabic_sentence_is_cut_at_the_last_comma_before_the_limit() -> None:
    text = "، ".join([ARABIC_CLAUSE] * 12) + "."
    sentences = split_sentences(text)
    assert len(sentences) > 1
    assert all(len(s) <= 200 for s in sentences)
    assert all(s.endswith("،") for s in sentences[:-1])
    assert sentences[-1].endswith(".")
    assert " ".join(sentences) == text
    first = sentences[0]  # the cut is the last comma that fits, not an early one
    assert len(first) + len(ARABIC_CLAUSE) + 2 > 200


def test_long_sentence_cut_at_arabic_semicolon_and_latin_comma() -> None:
    arabic = "؛ ".join([ARABIC_CLAUSE] * 8)
    assert all(s.endswith("؛") for s in split_sentences(arabic)[:-1])
    english = ", ".join(["this clause is written in English words"] * 10)
    pieces = split_sentences(english)
    assert len(pieces) > 1 and all(s.endswith(",") for s in pieces[:-1])


def test_long_sentence_without_commas_is_cut_at_a_space() -> None:
    text = " ".join(["كلمة"] * 100)
    pieces = split_sentences(text)
    assert len(pieces) > 1 and all(len(p) <= 200 for p in pieces)
    assert " ".join(pieces) == text


def test_thousands_separator_is_not_a_cut_point() -> None:
    text = "x" * 150 + " 1,250,000 " + "y" * 30 + ", " + "z" * 30
    pieces = split_sentences(text)
    assert pieces[0].endswith(",") and "1,250,000" in pieces[0]


def test_max_chars_is_adjustable() -> None:
    text = "أولا، ثانيا، ثالثا."
    assert split_sentences(text, max_chars=10) == ["أولا،", "ثانيا،", "ثالثا."]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " . ", "...", "؟"])
def test_never_returns_empty_strings(text: str) -> None:
    assert all(s.strip() == s and s for s in split_sentences(text))


def test_no_text_is_lost_on_random_input() -> None:
    rng = random.Random(3)
    words = ["مرحبا", "بكم", "Dr.", "3.5", "e.g.", "؟", "!", "…", "،", "word", "x.y", "1,000", "."]
    for _ in range(500):
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 120)))
        sentences = split_sentences(text)
        assert all(s and s == s.strip() for s in sentences)
        assert "".join(sentences).replace(" ", "") == text.replace(" ", "")
