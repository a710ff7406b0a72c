"""Sentence splitting for streaming synthesis: whole sentences for good prosody, but never so
long that the first audio waits on a paragraph."""

from __future__ import annotations

import re

from hams.text.dictionary import ARABIC_LETTER

MAX_CHARS = 200

_TERMINATOR = re.compile(r"[.!?؟…]+[\"'”’»)\]]*")
# Clause marks a long sentence may be cut after. A Latin comma or colon must be followed by a
# space, so 1,250 and 10:30 stay whole; Arabic writers often omit the space after ، and ؛.
_CLAUSE = re.compile(r"[،؛](?!\d)|[,;:](?=\s)")
_PROTECTED = re.compile(
    r"(?:https?://|www\.)\S*[^\s.,;:!?؟…)\]\"'»،]"  # URL, minus punctuation that ends the clause
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail address
)
_LAST_TOKEN = re.compile(r"(\S+)$")
_INITIALS = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # e.g, i.e, U.S, ص.ب
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "inc", "ltd", "co", "corp",
        "fig", "approx", "dept", "est", "mt", "gen", "gov", "lt", "col", "sgt", "capt", "rev",
        "hon", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
        "dec", "ca", "cf", "al", "vol", "pp", "ed", "eds", "a.m", "p.m",
    }
)


def _is_abbreviation(before: str) -> bool:
    """Whether the period just after `before` belongs to an abbreviation, initial or list number."""
    match = _LAST_TOKEN.search(before)
    if not match:
        return False
    token = match.group(1).lstrip("\"'“‘«([")
    if token.isdigit():
        return before.strip() == token  # "1." opening a numbered line is a marker
    lowered = token.lower()
    return (
        lowered in ABBREVIATIONS
        or (len(token) == 1 and token.isalpha())
        or _INITIALS.fullmatch(token) is not None
    )


def _ends_sentence(line: str, match: re.Match[str], since: int) -> bool:
    """Decide whether the terminator `match` closes the sentence that began at `since`."""
    end = match.end()
    following = line[end] if end < len(line) else " "
    # An Arabic sentence may start right after the period, without a space.
    if not (following.isspace() or ARABIC_LETTER.match(following)):
        return False  # 3.5, example.com, ?q=1, ...
    if match.group().rstrip("\"'”’»)]") == ".":
        return not _is_abbreviation(line[since : match.start()])
    return True


def _split_line(line: str) -> list[str]:
    """Split one line at the terminators that end a sentence, punctuation kept."""
    protected = [m.span() for m in _PROTECTED.finditer(line)]
    pieces, since = [], 0
    for match in _TERMINATOR.finditer(line):
        if any(start <= match.start() < end for start, end in protected):
            continue
        if _ends_sentence(line, match, since):
            pieces.append(line[since : match.end()])
            since = match.end()
    pieces.append(line[since:])
    return pieces


def _split_long(sentence: str, max_chars: int) -> list[str]:
    """Cut an over-long sentence after its last clause mark (، ؛ , ;) within `max_chars`,
    or at its last space when it has none, so streaming can start early."""
    pieces = []
    while len(sentence) > max_chars:
        window = sentence[:max_chars]
        cut = max((m.end() for m in _CLAUSE.finditer(window)), default=0)
        if cut == 0:
            cut = window.rfind(" ")
        if cut <= 0:
            break  # one enormous word: nothing sensible to cut
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    pieces.append(sentence)
    return pieces


def split_sentences(text: str, *, max_chars: int = MAX_CHARS) -> list[str]:
    """Split text into stripped, non-empty sentences at . ! ? ؟ … and newlines; ، and ؛ only
    cut a sentence longer than `max_chars`."""
    sentences = []
    for line in text.splitlines():
        for piece in _split_line(line):
            sentences.extend(_split_long(piece.strip(), max_chars))
    return [s for s in sentences if s]
