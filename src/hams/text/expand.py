"""Digits rewritten as words (dates, times, money, percentages, plain numbers) so that no TTS
engine is left to guess how to read them."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from hams.text.currency import CURRENCIES, amount_to_words
from hams.text.normalize import western_digits
from hams.text.numbers import (
    AR_JOIN,
    ar_counted,
    ar_int,
    decimal_to_words,
    digits_to_words,
    en_int,
    en_ordinal,
    language_code,
)

AR_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
             "أكتوبر", "نوفمبر", "ديسمبر")
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
_AR_HOURS = ("", "الواحدة", "الثانية", "الثالثة", "الرابعة", "الخامسة", "السادسة", "السابعة",
             "الثامنة", "التاسعة", "العاشرة", "الحادية عشرة", "الثانية عشرة")
_AR_MINUTE = ("دقيقة", "دقيقتان", "دقائق", "دقيقة")
_AR_SECOND = ("ثانية", "ثانيتان", "ثوان", "ثانية")
_AR_FRACTIONS = {15: " والربع", 20: " والثلث", 30: " والنصف"}
SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12,
          "ألف": 10**3, "آلاف": 10**3, "مليون": 10**6, "ملايين": 10**6, "مليار": 10**9,
          "مليارات": 10**9, "تريليون": 10**12}
_PROCLITICS = "وفبلك"  # one-letter Arabic prefixes written attached to the number: و5 -> وخمسة

_SIGN = r"(?:(?<![\w.])(?P<sign>[-−]))?"
_AMOUNT = r"(?<!\d)(?P<int>\d{1,3}(?:,\d{3}(?!\d))+|\d+)(?:\.(?P<frac>\d+))?"
_CUR_NAMES = "|".join(re.escape(c) for c in sorted(CURRENCIES, key=len, reverse=True))
_CUR = rf"(?<![A-Za-z])(?P<cur>{_CUR_NAMES})(?![A-Za-z\u0621-\u064a])"
_SCALE = rf"(?:\s(?P<scale>{'|'.join(SCALES)})(?!\w))"

_ISO_DATE = re.compile(r"(?<![\d.\-/])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d\-])")
_DMY_DATE = re.compile(
    r"(?<![\d.\-/])(?P<d>\d{1,2})(?P<sep>[/.\-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})(?![\d\-/])"
)
_TIME = re.compile(
    r"(?<![\d:.])(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)(?::(?P<s>[0-5]\d))?(?![\d:])"
)
_MONEY_BEFORE = re.compile(rf"{_SIGN}{_CUR}\s?{_AMOUNT}{_SCALE}?")
_MONEY_AFTER = re.compile(rf"{_SIGN}{_AMOUNT}{_SCALE}?\s?{_CUR}")
_PERCENT = re.compile(rf"{_SIGN}{_AMOUNT}\s?[%٪]")
_DOTTED = re.compile(r"(?<!\d)\d+(?:\.\d+){2,}(?![.]?\d)")
_SCALED = re.compile(rf"{_SIGN}{_AMOUNT}{_SCALE}")
_EN_ORDINAL = re.compile(r"(?<!\d)(?P<n>\d{1,15})(?:st|nd|rd|th)\b")
_NUMBER = re.compile(rf"{_SIGN}{_AMOUNT}")


def _spaced(match: re.Match[str], words: str) -> str:
    """Keep the words apart from letters the number was glued to ("COVID19"), but leave an
    attached Arabic proclitic attached ("و5" -> "وخمسة")."""
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else " "
    proclitic = before in _PROCLITICS and (start < 2 or not text[start - 2].isalnum())
    if before.isalnum() and not proclitic:
        words = " " + words
    if end < len(text) and text[end].isalnum():
        words += " "
    return words


def _number(m: re.Match[str], lang: str) -> str:
    """Words for the sign/int/frac groups of a matched amount."""
    integer, frac = m.group("int").replace(",", ""), m.group("frac")
    negative = bool(m.group("sign"))
    if frac is None and len(integer) > 1 and integer.startswith("0"):
        return digits_to_words(integer, lang)  # 007, 0501234567: codes and phone numbers
    return decimal_to_words(integer, frac, lang, negative)


def _en_year(year: int) -> str:
    """Years as spoken: 1999 -> nineteen ninety-nine, 2026 -> twenty twenty-six."""
    high, low = divmod(year, 100)
    if not 11 <= high <= 20 or (high == 20 and low < 10):
        return en_int(year)
    if low == 0:
        return f"{en_int(high)} hundred"
    return f"{en_int(high)} {'oh ' if low < 10 else ''}{en_int(low)}"


def _date(m: re.Match[str], lang: str) -> str:
    """Day, month name, year; d/m/yyyy that only makes sense as m/d/yyyy is swapped."""
    day, month, year = int(m.group("d")), int(m.group("m")), int(m.group("y"))
    if month > 12 and day <= 12 and "sep" in m.groupdict():
        day, month = month, day
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group()
    if lang == "ar":
        return f"{ar_int(day)} {AR_MONTHS[month - 1]} {ar_int(year)}"
    return f"the {en_ordinal(day)} of {EN_MONTHS[month - 1]} {_en_year(year)}"


def _time(m: re.Match[str], lang: str) -> str:
    """Clock times: "العاشرة والنصف" in Arabic, "ten thirty" in English."""
    hour, minute = int(m.group("h")), int(m.group("min"))
    second = int(m.group("s") or 0)
    if lang == "en":
        if minute == 0:
            words = en_int(hour) + (" hundred" if hour > 12 else " o'clock")  # 24-hour style
        else:
            words = f"{en_int(hour)} {'oh ' if minute < 10 else ''}{en_int(minute)}"
        return words + (f" and {en_int(second)} seconds" if second else "")
    words = _AR_HOURS[hour % 12 or 12]
    if minute in _AR_FRACTIONS:
        words += _AR_FRACTIONS[minute]
    elif minute:
        words += AR_JOIN + ar_counted(minute, _AR_MINUTE, feminine=True)
    if second:
        words += AR_JOIN + ar_counted(second, _AR_SECOND, feminine=True)
    return words + (" مساء" if hour > 12 else " ليلا" if hour == 0 else "")


def _money(m: re.Match[str], lang: str) -> str:
    """An amount followed or preceded by a currency symbol, code or Arabic abbreviation."""
    currency = CURRENCIES[m.group("cur")]
    integer, frac = m.group("int").replace(",", ""), m.group("frac")
    negative, scale = bool(m.group("sign")), m.group("scale")
    if scale is None:
        return amount_to_words(integer, frac, currency, lang, negative)
    value = Decimal(f"{integer}.{frac or 0}") * SCALES[scale]
    if lang == "ar" and value == value.to_integral_value():
        return amount_to_words(str(int(value)), None, currency, lang, negative)
    noun = currency.ar[0] if lang == "ar" else currency.en[1]
    return f"{decimal_to_words(integer, frac, lang, negative)} {scale} {noun}"


def _scaled(m: re.Match[str], lang: str) -> str:
    """Arabic "5 مليون" -> "خمسة ملايين": the scale word takes the count's agreement."""
    value = Decimal(f"{m.group('int').replace(',', '')}.{m.group('frac') or 0}")
    value *= SCALES[m.group("scale")]
    if lang != "ar" or value != value.to_integral_value():
        return f"{_number(m, lang)} {m.group('scale')}"
    return decimal_to_words(str(int(value)), None, lang, bool(m.group("sign")))


def _percent(m: re.Match[str], lang: str) -> str:
    """Percentages: "خمسون بالمائة" / "fifty percent"."""
    return f"{_number(m, lang)} {'بالمائة' if lang == 'ar' else 'percent'}"


def _dotted(m: re.Match[str], lang: str) -> str:
    """Version numbers and addresses such as 1.2.3 or 10.0.0.1, part by part."""
    dot = " نقطة " if lang == "ar" else " dot "
    return dot.join(decimal_to_words(part, None, lang) for part in m.group().split("."))


def _ordinal(m: re.Match[str], lang: str) -> str:
    """English 1st, 2nd, 23rd as ordinal words."""
    return en_ordinal(int(m.group("n")))


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], str], str], tuple[str, ...]]
_RULES: tuple[Rule, ...] = (
    (_ISO_DATE, _date, ("ar", "en")),
    (_DMY_DATE, _date, ("ar", "en")),
    (_TIME, _time, ("ar", "en")),
    (_MONEY_BEFORE, _money, ("ar", "en")),
    (_MONEY_AFTER, _money, ("ar", "en")),
    (_PERCENT, _percent, ("ar", "en")),
    (_DOTTED, _dotted, ("ar", "en")),
    (_SCALED, _scaled, ("ar",)),
    (_EN_ORDINAL, _ordinal, ("en",)),
    (_NUMBER, _number, ("ar", "en")),
)


def expand_numbers(text: str, language: str) -> str:
    """Replace every number in `text` by words in `language`; no digit survives."""
    lang = language_code(language)
    text = western_digits(text)
    for pattern, reader, languages in _RULES:
        if lang in languages:
            text = pattern.sub(lambda m, read=reader: _spaced(m, read(m, lang)), text)
    return text
