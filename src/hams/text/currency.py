"""Currency amounts read as words: "50 SAR" -> "خمسون ريالا سعوديا" / "fifty Saudi riyals"."""

from __future__ import annotations

from dataclasses import dataclass

from hams.text.numbers import (
    AR_JOIN,
    AR_MINUS,
    EN_MINUS,
    ArForms,
    ar_counted,
    decimal_to_words,
    int_to_words,
    language_code,
)


@dataclass(frozen=True)
class Currency:
    """How one currency and its minor unit are named in both languages."""

    ar: ArForms
    en: tuple[str, str]  # singular, plural
    minor_ar: ArForms
    minor_en: tuple[str, str]
    minor_digits: int = 2
    minor_feminine: bool = False


def _ar(noun: str, dual: str, plural: str, adjective: tuple[str, str, str, str] | None) -> ArForms:
    """Build the four Arabic forms, appending a nationality adjective that agrees with each."""
    acc = noun + "ا"
    if adjective is None:
        return noun, dual, plural, acc
    single, two, many, accusative = adjective
    return f"{noun} {single}", f"{dual} {two}", f"{plural} {many}", f"{acc} {accusative}"


def _adj(stem: str) -> tuple[str, str, str, str]:
    """Nationality adjective forms from its stem: سعودي, سعوديان, سعودية, سعوديا."""
    return stem, stem + "ان", stem + "ة", stem + "ا"


_CENT = _ar("سنت", "سنتان", "سنتات", None)
_FILS = _ar("فلس", "فلسان", "فلوس", None)
_FILS_EN = ("fils", "fils")
_RIYAL, _DINAR = ("ريال", "ريالان", "ريالات"), ("دينار", "ديناران", "دنانير")
_POUND = ("جنيه", "جنيهان", "جنيهات")

USD = Currency(_ar("دولار", "دولاران", "دولارات", None), ("dollar", "dollars"),
               _CENT, ("cent", "cents"))
EUR = Currency(("يورو", None, "يورو", "يورو"), ("euro", "euros"), _CENT, ("cent", "cents"))
GBP = Currency(_ar(*_POUND, _adj("إسترليني")), ("pound", "pounds"),
               _ar("بنس", "بنسان", "بنسات", None), ("penny", "pence"))
SAR = Currency(_ar(*_RIYAL, _adj("سعودي")), ("Saudi riyal", "Saudi riyals"),
               ("هللة", "هللتان", "هللات", "هللة"), ("halala", "halalas"),
               minor_feminine=True)
AED = Currency(_ar("درهم", "درهمان", "دراهم", _adj("إماراتي")), ("UAE dirham", "UAE dirhams"),
               _FILS, _FILS_EN)
EGP = Currency(_ar(*_POUND, _adj("مصري")), ("Egyptian pound", "Egyptian pounds"),
               _ar("قرش", "قرشان", "قروش", None), ("piastre", "piastres"))
JOD = Currency(_ar(*_DINAR, _adj("أردني")), ("Jordanian dinar", "Jordanian dinars"),
               _FILS, _FILS_EN, minor_digits=3)
KWD = Currency(_ar(*_DINAR, _adj("كويتي")), ("Kuwaiti dinar", "Kuwaiti dinars"),
               _FILS, _FILS_EN, minor_digits=3)
QAR = Currency(_ar(*_RIYAL, _adj("قطري")), ("Qatari riyal", "Qatari riyals"),
               _ar("درهم", "درهمان", "دراهم", None), ("dirham", "dirhams"))
BHD = Currency(_ar(*_DINAR, _adj("بحريني")), ("Bahraini dinar", "Bahraini dinars"),
               _FILS, _FILS_EN, minor_digits=3)
OMR = Currency(_ar(*_RIYAL, _adj("عماني")), ("Omani rial", "Omani rials"),
               ("بيسة", "بيستان", "بيسات", "بيسة"), ("baisa", "baisa"),
               minor_digits=3, minor_feminine=True)

# Every spelling recognised next to an amount: symbol, ISO code, Arabic abbreviation.
CURRENCIES: dict[str, Currency] = {
    "$": USD, "USD": USD, "€": EUR, "EUR": EUR, "£": GBP, "GBP": GBP,
    "SAR": SAR, "ر.س": SAR, "AED": AED, "د.إ": AED, "EGP": EGP, "ج.م": EGP,
    "JOD": JOD, "د.أ": JOD, "KWD": KWD, "د.ك": KWD, "QAR": QAR, "ر.ق": QAR,
    "BHD": BHD, "د.ب": BHD, "OMR": OMR, "ر.ع": OMR,
}


def _count(n: int, ar: ArForms, en: tuple[str, str], lang: str, feminine: bool = False) -> str:
    """Read "n units" in one language with its agreement rules."""
    if lang == "ar":
        return ar_counted(n, ar, feminine)
    return f"{int_to_words(n, lang)} {en[0] if n == 1 else en[1]}"


def amount_to_words(
    integer: str, frac: str | None, currency: Currency, language: str, negative: bool = False
) -> str:
    """Read an amount in a currency; cents-style fractions are read in the minor unit."""
    lang = language_code(language)
    major = int(integer)
    if frac is not None and len(frac) > currency.minor_digits:
        number = decimal_to_words(integer, frac, lang)  # more precision than the coin allows
        noun = currency.ar[0] if lang == "ar" else currency.en[1]
        words = f"{number} {noun}"
    else:
        minor = int(frac.ljust(currency.minor_digits, "0")) if frac else 0
        parts = [] if major == 0 and minor else [_count(major, currency.ar, currency.en, lang)]
        if minor:
            parts.append(_count(minor, currency.minor_ar, currency.minor_en, lang,
                                currency.minor_feminine))
        words = (AR_JOIN if lang == "ar" else " and ").join(parts)
    if negative:
        words = f"{AR_MINUS if lang == 'ar' else EN_MINUS} {words}"
    return words
