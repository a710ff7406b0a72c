"""The part writers: summary, keywords, key topics, titles and introduction, each one function
from the ranking document to the part's text.

Its own module because the parts differ only in how they present what the document ranked;
a new extractive part is one more function in ``WRITERS``.
"""

from __future__ import annotations

from collections.abc import Callable

from hams.engines.text.extractive.document import Document
from hams.engines.text.extractive.phrases import Phrase
from hams.engines.text.extractive.words import TITLE_SMALL_WORDS, capitalize

SUMMARY_RATIO = 0.3
SUMMARY_MAX_SENTENCES = 7
TOPIC_COUNT = 5
TITLE_COUNT = 3
INTRODUCTION_WORDS = 60
TOPIC_WORDS = 30  # words of a unit shown under one key topic

_BULLET = "•"
_DASH = "—"


def _title_case(phrase: str) -> str:
    """English title case that leaves names and acronyms alone (pH, NASA, McDonald)."""
    words = phrase.split()
    return " ".join(
        word if any(char.isupper() for char in word)
        or (index and word in TITLE_SMALL_WORDS) else capitalize(word)
        for index, word in enumerate(words)
    )


def _cap_words(text: str, limit: int) -> str:
    """`text` cut after its `limit`-th word, with "…" when something was cut."""
    words = text.split()
    if len(words) <= limit:
        return text
    return " ".join(words[:limit]).rstrip(".!?؟…،,;؛:") + "…"


def _summary(document: Document) -> str:
    count = len(document.sentences)
    wanted = min(SUMMARY_MAX_SENTENCES, max(1, int(count * SUMMARY_RATIO + 0.5)))
    if count >= 2:
        wanted = min(wanted, count - 1)
    chosen: dict[str, int] = {}  # a unit said twice is summarized once
    for index in document.best_sentences(range(count)):
        chosen.setdefault(document.sentences[index].casefold(), index)
        if len(chosen) == wanted:
            break
    picked = list(chosen.values())  # best first

    def joined() -> str:
        return " ".join(document.sentences[index] for index in sorted(picked))

    # Units cut from "A.B" are joined by a space the text did not have: never as long as it.
    while count >= 2 and len(picked) > 1 and len(joined()) >= len(document.text):
        picked.pop()
    return joined()


def _keywords(document: Document) -> str:
    separator = "، " if document.arabic else ", "
    return separator.join(phrase.display for phrase in document.key_phrases)


def _key_topics(document: Document) -> str:
    """A bullet for each of the top key phrases, those that can name a topic first, with the
    best unit mentioning it that no earlier bullet showed (at most ``TOPIC_WORDS`` words), or
    the phrase alone when every such unit was shown or the unit would not fit: the bullets
    together are never longer than the transcript."""
    phrases = sorted(document.key_phrases, key=lambda phrase: not document.nameable(phrase))
    lines: list[str] = []
    size, used = -1, set()  # size: characters so far, counting the newlines between lines
    for phrase in phrases[:TOPIC_COUNT]:
        name = phrase.display if document.arabic else capitalize(phrase.display)
        fresh = [index for index in document.best_sentences(phrase.sentences)
                 if index not in used]
        options = [(f"{_BULLET} {name}", None)]
        if fresh:
            unit = _cap_words(document.sentences[fresh[0]], TOPIC_WORDS)
            options.insert(0, (f"{_BULLET} {name} {_DASH} {unit}", fresh[0]))
        for line, index in options:
            if size + 1 + len(line) <= len(document.text):
                lines.append(line)
                size += 1 + len(line)
                used.add(index)
                break
    if not lines:  # nothing but stop words: the best unit is the only topic
        best = document.best_sentences(range(len(document.sentences)))[0]
        lines.append(f"{_BULLET} {_cap_words(document.sentences[best], TOPIC_WORDS)}")
    return "\n".join(lines)


def _title_names(phrases: list[Phrase]) -> list[Phrase]:
    """A, B, C, D for the titles "A and B", "A: C", "B and D": no title names a word twice
    (never "River and Alder River"), and C is a phrase of several words when there is one."""
    def apart(phrase: Phrase, *others: Phrase) -> bool:
        return all(not phrase.content & other.content for other in others)

    if not phrases:
        return []
    first = phrases[0]
    second = next((p for p in phrases if apart(p, first)), None)
    if second is None:
        return [first]
    rest = [p for p in phrases if p not in (first, second)]
    third = next((p for p in rest if apart(p, first) and len(p.content) > 1),
                 next((p for p in rest if apart(p, first)), None))
    fourth = next((p for p in rest if p is not third and apart(p, second)), None)
    return [first, second, *(p for p in (third, fourth) if p is not None)]


def _titles(document: Document) -> str:
    """Titles from the key phrases that can name the topic (noun phrases; in Arabic, definite
    or of several words first), then the opening words of the best-ranked units."""
    good = [phrase for phrase in document.ranked_phrases
            if phrase.count >= 2 and document.nameable(phrase)]
    if document.arabic:  # stable: by rank within each group
        good.sort(key=lambda p: not (len(p.keys) > 1 or p.display.startswith("ال")))
    names = [phrase.display for phrase in _title_names(good)]
    if not document.arabic:
        names = [_title_case(name) for name in names]
    conjunction = " و" if document.arabic else " and "  # Arabic و is written on the next word
    best = document.best_sentences(range(len(document.sentences)))[:TITLE_COUNT]
    openings = [document.opening(index) for index in best]
    options = []
    if len(names) >= 2:
        options.append(names[0] + conjunction + names[1])
    if len(names) >= 3:
        options.append(f"{names[0]}: {names[2]}")
    if len(names) >= 4:
        options.append(names[1] + conjunction + names[3])
    elif len(names) == 3:
        options.append(names[1] + conjunction + names[2])
    if len(good) < TITLE_COUNT:  # too few names: the best units say it better
        options += openings + names
    else:
        options += [f"{names[0]}: {names[1]}", *names, *openings]
    titles: list[str] = []
    for option in options:
        if option and option.casefold() not in {title.casefold() for title in titles}:
            titles.append(option)
    return "\n".join(titles[:TITLE_COUNT])


def _introduction(document: Document) -> str:
    """The opening units, up to about ``INTRODUCTION_WORDS`` words (the first one cut there
    when longer, with "…"); units of nothing but greetings at the start are left out."""
    first = next((index for index, content in enumerate(document.has_content) if content), 0)
    chosen, words = [], 0
    for sentence in document.sentences[first:]:
        size = len(sentence.split())
        if chosen and words + size > INTRODUCTION_WORDS:
            break
        chosen.append(sentence)
        words += size
    return _cap_words(" ".join(chosen), INTRODUCTION_WORDS)


WRITERS: dict[str, Callable[[Document], str]] = {
    "summary": _summary,
    "keywords": _keywords,
    "keyTopicsWithBullets": _key_topics,
    "titles": _titles,
    "introduction": _introduction,
}
