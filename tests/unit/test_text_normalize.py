"""Normalization keeps what a voice needs (harakat, hamza, taa marbuta) and drops what only
confuses the later steps (tatweel, invisible controls, non-ASCII digits)."""

from __future__ import annotations

import pytest

from hams.text import normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مـــرحـبا", "مرحبا"),  # tatweel
        ("مر\u200bحبا\u200c \u200dبكم", "مرحبا بكم"),  # zero-width space / non-joiner / joiner
        ("\u200fمرحبا\u200e \u202bبكم\u202c \u2067x\u2069 \u061cy", "مرحبا بكم x y"),  # bidi
        ("\ufeffبداية", "بداية"),  # byte-order mark
        ("soft\u00adhyphen", "softhyphen"),
        ("١٢٣٤٥٦٧٨٩٠", "1234567890"),  # Arabic-Indic digits
        ("۱۲۳۴۵۶۷۸۹۰", "1234567890"),  # Eastern Arabic-Indic digits
        ("٣٫٥", "3.5"),  # Arabic decimal separator
        ("١٬٢٥٠", "1,250"),  # Arabic thousands separator
        ("ﻻ ﷲ", "لا الله"),  # presentation forms
        ("ｆｕｌｌ ｗｉｄｔｈ １２", "full width 12"),
        ("ﬁne", "fine"),  # Latin ligature
        ("e\u0301", "é"),  # NFC composition
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text, "ar") == expected


@pytest.mark.parametrize(
    "text",
    [
        "مُحَمَّدٌ يَقْرَأُ القُرْآنَ",  # harakat, shadda, sukun, tanween
        "أحمد إبراهيم آمنة",  # alef with hamza / madda
        "مستشفى على",  # alef maksura
        "مدرسة جميلة",  # taa marbuta
        "مؤسسة شئون",  # hamza on waw / yaa
        "x² and H₂O",  # superscript and subscript stay: NFKC there would change meaning
    ],
)
def test_keeps_what_carries_pronunciation(text: str) -> None:
    assert normalize(text, "ar") == text


def test_whitespace_is_unified_but_lines_survive() -> None:
    text = "  أول\u00a0سطر\t\tهنا \r\n\r\n\u2003ثاني\u2028ثالث\u3000 "
    assert normalize(text, "ar") == "أول سطر هنا\nثاني\nثالث"


def test_is_idempotent() -> None:
    text = "\ufeffمـرحبا  ١٢٣٫٥ ﻻ\u200f\r\n\r\n  عَرَبِيّ  e\u0301"
    once = normalize(text, "ar")
    assert normalize(once, "ar") == once
    assert normalize(once, "en") == once


def test_empty_and_blank() -> None:
    assert normalize("", "ar") == ""
    assert normalize(" \u200b\n\t\ufeff ", "en") == ""
