"""Numbers, dates, times, money and percentages read as words, checked case by case and by
parsing the words back into the number they came from."""

from __future__ import annotations

import random
import re

import pytest

from hams.text import expand_numbers, number_to_words

AR_CASES = {
    0: "صفر",
    1: "واحد",
    2: "اثنان",
    3: "ثلاثة",
    8: "ثمانية",
    10: "عشرة",
    11: "أحد عشر",
    12: "اثنا عشر",
    13: "ثلاثة عشر",
    19: "تسعة عشر",
    20: "عشرون",
    21: "واحد وعشرون",
    22: "اثنان وعشرون",
    99: "تسعة وتسعون",
    100: "مائة",
    101: "مائة وواحد",
    111: "مائة وأحد عشر",
    200: "مائتان",
    300: "ثلاثمائة",
    999: "تسعمائة وتسعة وتسعون",
    1000: "ألف",
    1001: "ألف وواحد",
    2000: "ألفان",
    2026: "ألفان وستة وعشرون",
    3000: "ثلاثة آلاف",
    10000: "عشرة آلاف",
    11000: "أحد عشر ألفا",
    12000: "اثنا عشر ألفا",
    21000: "واحد وعشرون ألفا",
    100000: "مائة ألف",
    101000: "مائة ألف وألف",
    103000: "مائة وثلاثة آلاف",
    200000: "مائتا ألف",
    1000000: "مليون",
    2000000: "مليونان",
    3000000: "ثلاثة ملايين",
    11000000: "أحد عشر مليونا",
    1234567: "مليون ومائتان وأربعة وثلاثون ألفا وخمسمائة وسبعة وستون",
    1000000000: "مليار",
    2000000000: "ملياران",
    5000000000: "خمسة مليارات",
    10**12: "تريليون",
}

EN_CASES = {
    0: "zero",
    1: "one",
    2: "two",
    3: "three",
    10: "ten",
    11: "eleven",
    12: "twelve",
    13: "thirteen",
    19: "nineteen",
    20: "twenty",
    21: "twenty-one",
    99: "ninety-nine",
    100: "one hundred",
    101: "one hundred one",
    200: "two hundred",
    300: "three hundred",
    999: "nine hundred ninety-nine",
    1000: "one thousand",
    2000: "two thousand",
    2026: "two thousand twenty-six",
    3000: "three thousand",
    11000: "eleven thousand",
    100000: "one hundred thousand",
    1000000: "one million",
    2000000: "two million",
    1234567: "one million two hundred thirty-four thousand five hundred sixty-seven",
    10**12: "one trillion",
}


@pytest.mark.parametrize(("value", "words"), AR_CASES.items())
def test_arabic_cardinals(value: int, words: str) -> None:
    assert number_to_words(value, "ar") == words


@pytest.mark.parametrize(("value", "words"), EN_CASES.items())
def test_english_cardinals(value: int, words: str) -> None:
    assert number_to_words(value, "en") == words


@pytest.mark.parametrize(
    ("value", "language", "words"),
    [
        (-5, "ar", "سالب خمسة"),
        (-21, "en", "minus twenty-one"),
        ("-1,250", "en", "minus one thousand two hundred fifty"),
        ("3.5", "ar", "ثلاثة فاصلة خمسة"),
        ("3.5", "en", "three point five"),
        ("٣٫٥", "ar", "ثلاثة فاصلة خمسة"),
        ("۳٫۵", "en", "three point five"),
        ("3.25", "ar", "ثلاثة فاصلة خمسة وعشرون"),
        ("3.25", "en", "three point two five"),
        ("0.05", "ar", "صفر فاصلة صفر خمسة"),
        ("-0.5", "en", "minus zero point five"),
        ("١٢٣", "ar", "مائة وثلاثة وعشرون"),
        ("١٬٢٥٠", "ar", "ألف ومائتان وخمسون"),
        ("1,250,000", "ar", "مليون ومائتان وخمسون ألفا"),
        ("1,250,000", "en", "one million two hundred fifty thousand"),
        (7, "ar-SA", "سبعة"),
        (7, "en_US", "seven"),
    ],
)
def test_signed_decimal_and_localized_input(value: int | str, language: str, words: str) -> None:
    assert number_to_words(value, language) == words


def test_beyond_the_scales_is_read_digit_by_digit() -> None:
    assert number_to_words(10**15, "en") == "one " + " ".join(["zero"] * 15)


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "--5", "5-"])
def test_rejects_what_is_not_a_number(bad: str) -> None:
    with pytest.raises(ValueError):
        number_to_words(bad, "en")


def test_rejects_unsupported_language() -> None:
    with pytest.raises(ValueError):
        number_to_words(5, "fr")
    with pytest.raises(ValueError):
        expand_numbers("5", "de")


# --- the words parse back to the number --------------------------------------------------------

_AR_UNITS = ("صفر", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة")
_AR_TENS = ("عشرة", "عشرون", "ثلاثون", "أربعون", "خمسون", "ستون", "سبعون", "ثمانون", "تسعون")
_AR_HUNDREDS = ("مائة", "مائتان", "ثلاثمائة", "أربعمائة", "خمسمائة", "ستمائة", "سبعمائة",
                "ثمانمائة", "تسعمائة")
_AR_VALUES = {
    **{word: value for value, word in enumerate(_AR_UNITS)},
    **{word: 10 * (i + 1) for i, word in enumerate(_AR_TENS)},
    **{word: 100 * (i + 1) for i, word in enumerate(_AR_HUNDREDS)},
    "أحد": 1, "اثنا": 2, "عشر": 10, "مائتا": 200,
}
_AR_SCALES = {
    stem: (10**power, forms)
    for power, stem, forms in [
        (3, "ألف", ("ألف", "ألفان", "آلاف", "ألفا")),
        (6, "مليون", ("مليون", "مليونان", "ملايين", "مليونا")),
        (9, "مليار", ("مليار", "ملياران", "مليارات", "مليارا")),
        (12, "تريليون", ("تريليون", "تريليونان", "تريليونات", "تريليونا")),
    ]
}
_AR_SCALE_WORDS = {form: (scale, forms.index(form)) for scale, forms in _AR_SCALES.values()
                   for form in forms}


def parse_arabic(words: str) -> int:
    """Inverse of the Arabic reader, so every generated number can be checked exactly."""
    total = group = 0
    for component in words.split(" و"):
        *count, last = component.split(" ")
        if last in _AR_SCALE_WORDS:
            scale, form = _AR_SCALE_WORDS[last]
            group += sum(_AR_VALUES[w] for w in count)
            total += scale * (group or (2 if form == 1 else 1))
            group = 0
        else:
            group += sum(_AR_VALUES[w] for w in [*count, last])
    return total + group


_EN_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
            "eighteen", "nineteen")
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_VALUES = {word: value for value, word in enumerate(_EN_ONES)}
_EN_VALUES |= {word: 10 * i for i, word in enumerate(_EN_TENS, start=2)}
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def parse_english(words: str) -> int:
    """Inverse of the English reader."""
    total = group = 0
    for word in re.split(r"[ -]", words):
        if word == "hundred":
            group *= 100
        elif word in _EN_SCALES:
            total, group = total + group * _EN_SCALES[word], 0
        else:
            group += _EN_VALUES[word]
    return total + group


def _samples() -> list[int]:
    rng = random.Random(20261129)
    values = list(range(0, 1200)) + [rng.randrange(10**k) for k in range(4, 16) for _ in range(300)]
    return values + [10**k for k in range(16)][:-1] + [2 * 10**k for k in range(3, 15)]


def test_arabic_words_parse_back_to_the_number() -> None:
    for value in _samples():
        words = number_to_words(value, "ar")
        assert parse_arabic(words) == value, (value, words)
        assert "  " not in words and not re.search(r"\d", words)


def test_english_words_parse_back_to_the_number() -> None:
    for value in _samples():
        words = number_to_words(value, "en")
        assert parse_english(words) == value, (value, words)


# --- numbers in running text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("2026-11-29", "ar", "تسعة وعشرون نوفمبر ألفان وستة وعشرون"),
        ("٢٠٢٦-١١-٢٩", "ar", "تسعة وعشرون نوفمبر ألفان وستة وعشرون"),
        ("29/11/2026", "ar", "تسعة وعشرون نوفمبر ألفان وستة وعشرون"),
        ("1/3/2025", "ar", "واحد مارس ألفان وخمسة وعشرون"),
        ("2026-11-29", "en", "the twenty-ninth of November twenty twenty-six"),
        ("29/11/2026", "en", "the twenty-ninth of November twenty twenty-six"),
        ("11/29/2026", "en", "the twenty-ninth of November twenty twenty-six"),
        ("1/1/1999", "en", "the first of January nineteen ninety-nine"),
        ("2/5/2005", "en", "the second of May two thousand five"),
        ("10:30", "ar", "العاشرة والنصف"),
        ("10:15", "ar", "العاشرة والربع"),
        ("9:00", "ar", "التاسعة"),
        ("14:05", "ar", "الثانية وخمس دقائق مساء"),
        ("11:45", "ar", "الحادية عشرة وخمس وأربعون دقيقة"),
        ("10:30", "en", "ten thirty"),
        ("9:00", "en", "nine o'clock"),
        ("7:05", "en", "seven oh five"),
        ("50 SAR", "ar", "خمسون ريالا سعوديا"),
        ("50 SAR", "en", "fifty Saudi riyals"),
        ("1 SAR", "ar", "ريال سعودي واحد"),
        ("2 SAR", "ar", "ريالان سعوديان"),
        ("3 ر.س", "ar", "ثلاثة ريالات سعودية"),
        ("100 ر.س", "ar", "مائة ريال سعودي"),
        ("$5", "en", "five dollars"),
        ("$1", "en", "one dollar"),
        ("$5", "ar", "خمسة دولارات"),
        ("5$", "ar", "خمسة دولارات"),
        ("$5.99", "en", "five dollars and ninety-nine cents"),
        ("0.99 USD", "ar", "تسعة وتسعون سنتا"),
        ("$1.5 million", "en", "one point five million dollars"),
        ("$1.5 million", "ar", "مليون وخمسمائة ألف دولار"),
        ("-$3", "en", "minus three dollars"),
        ("€20", "en", "twenty euros"),
        ("20 EUR", "ar", "عشرون يورو"),
        ("£2.50", "en", "two pounds and fifty pence"),
        ("12 AED", "ar", "اثنا عشر درهما إماراتيا"),
        ("7 د.إ", "en", "seven UAE dirhams"),
        ("15 EGP", "ar", "خمسة عشر جنيها مصريا"),
        ("4 ج.م", "en", "four Egyptian pounds"),
        ("1.250 KWD", "en", "one Kuwaiti dinar and two hundred fifty fils"),
        ("10 JOD", "ar", "عشرة دنانير أردنية"),
        ("30 QAR", "en", "thirty Qatari riyals"),
        ("2 BHD", "ar", "ديناران بحرينيان"),
        ("5 OMR", "en", "five Omani rials"),
        ("1,250,000 SAR", "ar", "مليون ومائتان وخمسون ألف ريال سعودي"),
        ("50%", "ar", "خمسون بالمائة"),
        ("٥٠٪", "ar", "خمسون بالمائة"),
        ("50%", "en", "fifty percent"),
        ("3.5%", "en", "three point five percent"),
        ("1,250,000", "en", "one million two hundred fifty thousand"),
        ("١٬٢٥٠", "ar", "ألف ومائتان وخمسون"),
        ("٣٫٥", "ar", "ثلاثة فاصلة خمسة"),
        ("5 مليون", "ar", "خمسة ملايين"),
        ("0501234567", "en", "zero five zero one two three four five six seven"),
        ("1.2.3", "en", "one dot two dot three"),
        ("1st 2nd 3rd 11th 22nd", "en", "first second third eleventh twenty-second"),
    ],
)
def test_expand_numbers(text: str, language: str, expected: str) -> None:
    assert expand_numbers(text, language) == expected


def test_latin_digits_in_arabic_text_are_read_in_arabic() -> None:
    text = "وصل 25 طالبا و٣ معلمين في الساعة 8:30"
    expected = "وصل خمسة وعشرون طالبا وثلاثة معلمين في الساعة الثامنة والنصف"
    assert expand_numbers(text, "ar") == expected


def test_english_mode_reads_arabic_indic_digits_in_english() -> None:
    assert expand_numbers("Room ١٢ costs $٥", "en") == "Room twelve costs five dollars"


def test_numbers_keep_their_punctuation_and_neighbours() -> None:
    assert expand_numbers("It was 3.5. Then 1,2,3!", "en") == (
        "It was three point five. Then one,two,three!"
    )
    assert expand_numbers("COVID19 and 5km", "en") == "COVID nineteen and five km"
    assert expand_numbers("a -5 b 10-20", "en") == "a minus five b ten-twenty"


@pytest.mark.parametrize("language", ["ar", "en"])
def test_huge_amounts_are_read_digit_by_digit(language: str) -> None:
    huge = "1" + "0" * 17
    texts = (f"${huge}", f"{huge} SAR", f"{huge}%", f"{huge}th", f"{huge}.5", f"${huge} million")
    for text in texts:
        out = expand_numbers(text, language)
        assert not re.search(r"\d", out) and out.count("zero" if language == "en" else "صفر") >= 17


def test_no_digit_survives_random_text() -> None:
    rng = random.Random(7)
    alphabet = "0123456789٠١٢٣٤٥٦٧٨٩,.:/-%٪$€£ SARUDم.رس"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        for language in ("ar", "en"):
            out = expand_numbers(text, language)
            assert not re.search(r"\d", out), (text, out)
