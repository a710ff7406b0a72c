"""Extractive content engine: summaries, keywords, key topics, titles and introductions taken
from the transcript itself, with no model, no network and no dependency beyond numpy.

Everything shown is the transcript's own text: whole units (sentences, or the pieces an
unpunctuated transcript is cut into) for the summary, the key topics and the introduction, and
phrases as they were written for keywords and titles; only "…" is added where a unit is cut
short. The engine therefore writes only the parts in ``EXTRACTIVE_PARTS``, only in the
transcript's language, and cannot follow custom prompts; ``refusal`` says so, naming the
setting for a language model.

Pipeline
--------
The transcript goes through ``normalize`` (no tatweel, presentation forms or invisible marks)
and is cut into *units*, the sentences every part is made of:

- a punctuated transcript: its sentences (``split_sentences``); one longer than
  ``LONG_SENTENCE_WORDS`` words is cut as below;
- a transcript with little punctuation (fewer sentence ends than one per ``SPARSE_WORDS``
  words, usual for Arabic speech recognition): the recognizer's segments when the request has
  them and they hold exactly the transcript's words; otherwise every run longer than
  ``UNIT_MAX_WORDS`` words is cut into units of about ``UNIT_WORDS`` words, after a clause mark
  (، ؛ , ;) when there is one, else before a conjunction that opens a clause (لأن, ويرى, وقد,
  but, because), else before another و-word or "and", else at the space nearest the target.

Each word gets a *matching key* used only to group words; what is displayed is always a form
found in the transcript.

- English: lowercase, possessive dropped, plural folded (rivers -> river).
- Arabic: harakat and tatweel removed, alef forms unified (أ إ آ ٱ -> ا), ى -> ي, ة -> ه, then a
  light prefix stemmer drops the definite article together with an attached conjunction or
  preposition (المياه, والمياه, بالمياه, للمياه -> مياه). A bare leading و ب ل is kept: without
  the article it is too often a root letter. The word is displayed without the conjunction or
  preposition but with the article (بالمياه -> المياه).

Stop words (``stopwords.py``) include greetings, thanks and presenting words ("welcome",
"مرحبا", "الحلقة"); whole formulas ("السلام عليكم ورحمة الله وبركاته", "بسم الله الرحمن
الرحيم", "thanks for watching") are found where they are said and their words count as stop
words there only, so "الله" or "السلام" still name a topic elsewhere.

Parts
-----
- summary: TextRank. Units are nodes; an edge weighs the content keys two units share,
  divided by the logs of their sizes so long units do not win by length alone. A weighted
  PageRank ranks them (a unit of nothing but stop words and greetings last), and the top ~30 %
  (1 to 7, always fewer than all, so always shorter than the transcript) are returned in their
  original order.
- keywords: YAKE-like. Candidates are runs of 1-3 words within one clause that neither start
  nor end with a stop word. A word scores by frequency, spread over units, the position of
  its first unit and (English) capitals mid-sentence; a phrase of several words by its
  words' scores (summed, over the square root of their number) times its cohesion (how often
  they occur together rather than apart), and only when it occurs at least twice and is not
  mostly part of a longer name ("الاصطناعي في التعليم" inside "الذكاء الاصطناعي في التعليم").
  A phrase that merely repeats a higher-ranked one (say "solar" after "solar panels") is
  dropped.
- keyTopicsWithBullets: the top key phrases, noun-like ones first, each with the best-ranked
  unit mentioning it that no earlier bullet showed (at most ``TOPIC_WORDS`` words), or alone;
  never longer than the transcript.
- titles: combinations of the key phrases that can name a topic ("A and B", "A: C", "B and D"):
  said at least twice, not part of a longer name, not a verb (يساعد), a bare comparative
  (cheaper) or -ing verb; in Arabic, definite or several-word phrases first. With fewer than
  three such phrases, the opening words of the best-ranked units (up to ``TITLE_WORDS``).
- introduction: the opening units, up to about ``INTRODUCTION_WORDS`` words (cut there with
  "…" when the first is longer); units of nothing but greetings at the start are left out.

Modules
-------
- ``words``: what a word is, its matching key and how it is displayed (tokens, morphology,
  greeting formulas).
- ``units``: cutting the transcript into the units every part is made of.
- ``phrases``: key-phrase candidates and the statistics they are ranked by.
- ``document``: the transcript tokenized once, with the TextRank and key-phrase rankings and
  the tests a phrase must pass to name a topic.
- ``writers``: one function per part, each writing from the document.
- ``engine``: ``ExtractiveEngine``, which refuses what it cannot write and runs the writers.
"""

from __future__ import annotations

from hams.engines.text.extractive.engine import ExtractiveEngine

__all__ = ["ExtractiveEngine"]
