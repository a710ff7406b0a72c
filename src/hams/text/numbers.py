"""Cardinal numbers in words: Modern Standard Arabic (masculine by default) and English."""

from __future__ import annotations

import re

from hams.text.normalize import western_digits

LIMIT = 10**15  # at or beyond this, digits are read one by one (phone-number style)

ArForms = tuple[str, str | None, str, str]  # singular, dual (None: invariant), plural, accusative

_EN_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_EN_ORDINAL = {
    "one": "first", "two": "second", "three": "third", "five": "fifth",
    "eight": "eighth", "nine": "ninth", "twelve": "twelfth",
}

_AR_ONES_M = ("صفر", "واحد", "اثنان", "ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة",
              "عشرة")
_AR_ONES_F = ("صفر", "واحدة", "اثنتان", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثماني", "تسع", "عشر")
_AR_TENS = ("", "", "عشرون", "ثلاثون", "أربعون", "خمسون", "ستون", "سبعون", "ثمانون", "تسعون")
_AR_HUNDREDS = ("", "مائة", "مائتان", "ثلاثمائة", "أربعمائة", "خمسمائة", "ستمائة", "سبعمائة",
                "ثمانمائة", "تسعمائة")
_AR_SCALES: tuple[tuple[int, ArForms], ...] = (
    (10**12, ("تريليون", "تريليونان", "تريليونات", "تريليونا")),
    (10**9, ("مليار", "ملياران", "مليارات", "مليارا")),
    (10**6, ("مليون", "مليونان", "ملايين", "مليونا")),
    (10**3, ("ألف", "ألفان", "آلاف", "ألفا")),
)
# A dual that counts a following noun drops its final nun (construct state): مائتا ألف, ألفا ريال.
_AR_CONSTRUCT = {"مائتان": "مائتا", "ألفان": "ألفا", "مليونان": "مليونا", "ملياران": "مليارا",
                 "تريليونان": "تريليونا"}
# ...and an accusative scale word loses its alif: مائتان وخمسون ألف ريال, not ألفا ريال.
_AR_CONSTRUCT.update({acc: singular for _, (singular, _, _, acc) in _AR_SCALES})
AR_JOIN = " و"
AR_MINUS, EN_MINUS = "سالب", "minus"

_DECIMAL = re.compile(r"([-−+]?)(\d+)(?:\.(\d+))?")


def language_code(language: str) -> str:
    """Reduce a tag such as "ar-SA" or "en_US" to "ar" or "en", the two languages read aloud."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code not in ("ar", "en"):
        raise ValueError(f"unsupported language for number reading: {language!r}")
    return code


def _en_below_1000(n: int) -> str:
    """Spell 1..999 in English ("one hundred twenty-three")."""
    hundreds, rest = divmod(n, 100)
    parts = [f"{_EN_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        parts.append(_EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else ""))
    elif rest:
        parts.append(_EN_ONES[rest])
    return " ".join(parts)


def en_int(n: int) -> str:
    """Spell a non-negative integer below LIMIT in English, without "and"."""
    if n == 0:
        return "zero"
    parts = []
    for scale, name in _EN_SCALES:
        count, n = divmod(n, scale)
        if count:
            parts.append(f"{_en_below_1000(count)} {name}")
    if n:
        parts.append(_en_below_1000(n))
    return " ".join(parts)


def en_ordinal(n: int) -> str:
    """English ordinal ("twenty-first"), used for days of the month and 1st/2nd suffixes."""
    words = en_int(n)
    head, sep, last = words.rpartition("-") if "-" in words else words.rpartition(" ")
    if last in _EN_ORDINAL:
        last = _EN_ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def _ar_below_100(n: int, feminine: bool) -> str:
    """Spell 1..99; the units agree with the counted noun, the tens are invariant."""
    ones = _AR_ONES_F if feminine else _AR_ONES_M
    if n <= 10:
        return ones[n]
    if n == 11:
        return "إحدى عشرة" if feminine else "أحد عشر"
    if n == 12:
        return "اثنتا عشرة" if feminine else "اثنا عشر"
    if n < 20:
        return ones[n - 10] + (" عشرة" if feminine else " عشر")
    tens, unit = divmod(n, 10)
    return (ones[unit] + AR_JOIN if unit else "") + _AR_TENS[tens]


def _ar_below_1000(n: int, feminine: bool = False) -> str:
    """Spell 1..999: hundreds, then units before tens, joined with و."""
    hundreds, rest = divmod(n, 100)
    parts = [_AR_HUNDREDS[hundreds]] if hundreds else []
    if rest:
        parts.append(_ar_below_100(rest, feminine))
    return AR_JOIN.join(parts)


def ar_construct(words: str) -> str:
    """Put a trailing dual or accusative number word in construct state before its noun."""
    head, sep, last = words.rpartition(" ")
    return head + sep + _AR_CONSTRUCT.get(last, last)


def _ar_scaled(count: int, forms: ArForms) -> str:
    """Count a scale word (ألف, مليون...) with Arabic number-noun agreement; count < 1000."""
    singular, dual, plural, accusative = forms
    if count <= 2:
        return singular if count == 1 else str(dual)
    rest = count % 100
    if 3 <= rest <= 10:
        return f"{_ar_below_1000(count)} {plural}"
    if rest > 10:
        return f"{_ar_below_1000(count)} {accusative}"
    base = f"{ar_construct(_ar_below_1000(count - rest))} {singular}"
    return base + (AR_JOIN + (singular if rest == 1 else str(dual)) if rest else "")


def ar_int(n: int, feminine: bool = False) -> str:
    """Spell a non-negative integer below LIMIT in Arabic; `feminine` shapes the last units."""
    if n == 0:
        return _AR_ONES_M[0]
    parts = []
    for scale, forms in _AR_SCALES:
        count, n = divmod(n, scale)
        if count:
            parts.append(_ar_scaled(count, forms))
    if n:
        parts.append(_ar_below_1000(n, feminine))
    return AR_JOIN.join(parts)


def ar_counted(n: int, forms: ArForms, feminine: bool = False) -> str:
    """Read "n nouns" with MSA agreement: 1 after the noun, dual, plural 3-10, accusative 11-99."""
    singular, dual, plural, accusative = forms
    if n >= LIMIT:
        return f"{digits_to_words(str(n), 'ar')} {singular}"
    if n == 1:
        return f"{singular} {_AR_ONES_F[1] if feminine else _AR_ONES_M[1]}"
    if n == 2 and dual is not None:
        return dual
    words = ar_int(n, feminine)
    rest = n % 100
    if 3 <= rest <= 10:
        return f"{words} {plural}"
    if rest > 10:
        return f"{words} {accusative}"
    return f"{ar_construct(words) if rest == 0 else words} {singular}"


def digits_to_words(digits: str, language: str) -> str:
    """Read a digit string one digit at a time, as phone numbers and codes are spoken."""
    ones = _AR_ONES_M if language_code(language) == "ar" else _EN_ONES
    return " ".join(ones[int(d)] for d in digits)


def int_to_words(n: int, language: str) -> str:
    """Spell any integer; negatives get a minus word, huge values are read digit by digit."""
    lang = language_code(language)
    if n < 0:
        return f"{AR_MINUS if lang == 'ar' else EN_MINUS} {int_to_words(-n, lang)}"
    if n >= LIMIT:
        return digits_to_words(str(n), lang)
    return ar_int(n) if lang == "ar" else en_int(n)


MAX_SPOKEN_DIGITS = 15


def fraction_to_words(frac: str, language: str) -> str:
    """Read the digits after the decimal point: English digit by digit, Arabic as a number."""
    lang = language_code(language)
    significant = frac.lstrip("0")
    if lang == "en" or len(significant) > 3:
        return digits_to_words(frac, lang)
    zeros = [_AR_ONES_M[0]] * (len(frac) - len(significant))
    return " ".join(zeros + ([ar_int(int(significant))] if significant else []))


def decimal_to_words(integer: str, frac: str | None, language: str, negative: bool = False) -> str:
    """Spell "integer.frac" with "فاصلة" / "point"; frac None means a whole number."""
    lang = language_code(language)
    if len(integer.lstrip("0")) > MAX_SPOKEN_DIGITS:  # before int(): huge runs are digit strings
        words = digits_to_words(integer, lang)
    else:
        words = int_to_words(int(integer), lang)
    if frac is not None:
        point = "فاصلة" if lang == "ar" else "point"
        words = f"{words} {point} {fraction_to_words(frac, lang)}"
    if negative:
        words = f"{AR_MINUS if lang == 'ar' else EN_MINUS} {words}"
    return words


def number_to_words(value: int | str, language: str) -> str:
    """Spell an integer or a decimal string ("3.5", "٣٫٥", "-1,250") in Arabic or English."""
    if isinstance(value, int):
        return int_to_words(value, language)
    cleaned = western_digits(str(value).strip()).replace(",", "")
    match = _DECIMAL.fullmatch(cleaned.replace(" ", ""))
    if not match:
        raise ValueError(f"not a number: {value!r}")
    sign, integer, frac = match.groups()
    return decimal_to_words(integer, frac, language, negative=sign in ("-", "−"))
