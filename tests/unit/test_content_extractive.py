"""The extractive content engine: summaries, keywords, key topics, titles and introductions
picked from the transcript itself, in English and Arabic, and the refusals that point to a
language model for everything else."""

from __future__ import annotations

import re

import pytest

from hams.engines.text import EXTRACTIVE_PARTS, ContentRequest, PartRequest
from hams.engines.text.extractive import ExtractiveEngine
from hams.engines.text.stopwords import ARABIC_STOP_WORDS, ENGLISH_STOP_WORDS
from hams.errors import BadRequest
from hams.text.normalize import normalize
from hams.text.sentences import split_sentences

ENGLISH = """\
Millbrook has always depended on the Alder River. The river runs through the centre of the \
city, and for more than a century it has supplied almost all of the water that residents \
drink. Every morning, pumps at the old intake station draw river water into the treatment \
plant on the northern bank. There the water is filtered, tested and disinfected before it \
flows through two hundred kilometres of pipes to homes, schools and hospitals.

In recent years the river has become less reliable. Summers are longer and drier, and the \
water level in August now falls close to the intake pipes. Farmers upstream also take more \
water for irrigation than they did a generation ago. When the river is low, pollution from \
roads and fields is less diluted, so the treatment plant must work harder and use more \
chemicals to keep the water safe.

How should the city protect its water supply? The council has chosen three answers. First, it \
is repairing leaking pipes, which waste nearly a fifth of the treated water before it reaches \
a tap. Second, it is building a reservoir that will store winter river water for the dry \
months. Third, it pays farmers to plant trees along the riverbanks, because shaded banks keep \
the river cooler and filter runoff before it reaches the water supply.

Residents can help too. Shorter showers, repaired taps and rain barrels in gardens all reduce \
the demand on the river. The Alder River made Millbrook possible; with care, it can keep \
supplying the city's water for another century.
"""

# Tatweel (النخـــيل), a presentation-form ligature (ﻻ), harakat (تُعَدُّ، الْمِيَاهِ) and Arabic
# punctuation (؟ ، ؛) on purpose.
ARABIC = """\
تُعَدُّ زراعة النخيل من أقدم أنواع الزراعة في شبه الجزيرة العربية، وقد ارتبطت حياة الواحات \
بالنخيل منذ آلاف السنين. ويعتمد المزارعون في الواحات على المياه الجوفية لري النخيل، لأن \
الأمطار قليلة والأنهار نادرة. فكيف استطاعت هذه الواحات أن تحافظ على بساتين النخيل طوال هذه \
القرون؟

تحتاج النخلة إلى كمية كبيرة من الْمِيَاهِ في فصل الصيف؛ فالحرارة الشديدة تزيد من تبخر المياه \
من التربة. وكان المزارعون قديمًا يستخدمون الأفلاج والقنوات لنقل المياه من العيون إلى البساتين، \
وﻻ تزال بعض هذه الأفلاج تعمل حتى اليوم. أما اليوم فقد انتشر الري بالتنقيط، وهو أسلوب يوفر \
المياه ويوصلها مباشرة إلى جذور النخيل.

لكن الضخ الجائر للمياه الجوفية أدى إلى انخفاض منسوبها في كثير من المناطق، وزادت ملوحة المياه \
في بعض الآبار. ولذلك بدأت وزارات الزراعة في دعم المزارعين لاستخدام تقنيات الري الحديثة، \
وتشجيع زراعة أصناف من النخيل تتحمل الملوحة والجفاف. كما تعمل مراكز البحث على إعادة استخدام \
المياه المعالجة في ري النخـــيل.

ويبقى النخيل رمزًا للكرم والصبر في الثقافة العربية، فالتمور غذاء مهم ومصدر دخل لآلاف الأسر. \
وإذا أحسنّا إدارة المياه، فإن بساتين النخيل ستبقى خضراء للأجيال القادمة.
"""

ALL_PARTS = sorted(EXTRACTIVE_PARTS)
ARABIC_STOPS = {"في", "من", "على", "إلى", "أن", "التي", "الذي", "هذا", "هذه", "كان"}
PRESENTATION_FORMS = re.compile(r"[\ufb50-\ufdff\ufe70-\ufeff]")
LATIN = re.compile(r"[A-Za-z]")


def _request(text: str, language: str, parts: list[str] | None = None) -> ContentRequest:
    parts = ALL_PARTS if parts is None else parts
    return ContentRequest(transcript=text, transcript_language=language,
                          parts={part: PartRequest(language=language) for part in parts})


def _generate(text: str, language: str, parts: list[str] | None = None) -> dict[str, str]:
    return ExtractiveEngine().generate(_request(text, language, parts)).parts


@pytest.fixture(scope="module")
def english() -> dict[str, str]:
    return _generate(ENGLISH, "en")


@pytest.fixture(scope="module")
def arabic() -> dict[str, str]:
    return _generate(ARABIC, "ar")


def test_result_has_every_part_as_a_string_and_no_token_counts() -> None:
    result = ExtractiveEngine().generate(_request(ENGLISH, "en"))
    assert set(result.parts) == EXTRACTIVE_PARTS
    assert all(isinstance(value, str) and value for value in result.parts.values())
    assert result.prompt_tokens is None and result.completion_tokens is None


@pytest.mark.parametrize(("text", "language"), [(ENGLISH, "en"), (ARABIC, "ar")])
def test_summary_is_sentences_of_the_text_and_shorter(text: str, language: str) -> None:
    summary = _generate(text, language, ["summary"])["summary"]
    normalized = normalize(text)
    sentences = split_sentences(summary, max_chars=10_000)
    assert len(sentences) >= 2
    assert all(sentence in normalized for sentence in sentences)
    assert len(summary) < len(normalized)
    assert summary[-1] in ".?؟!"  # end punctuation kept


def test_english_keywords_name_the_topic_without_stop_words(english: dict[str, str]) -> None:
    keywords = english["keywords"].split(", ")
    assert 8 <= len(keywords) <= 10
    assert len(set(keywords)) == len(keywords)
    assert {"river", "water"} <= set(keywords)
    for phrase in keywords:
        words = phrase.lower().split()
        assert 1 <= len(words) <= 3
        assert words[0] not in ENGLISH_STOP_WORDS and words[-1] not in ENGLISH_STOP_WORDS


def test_arabic_keywords_name_the_topic_without_stop_words(arabic: dict[str, str]) -> None:
    keywords = arabic["keywords"].split("، ")
    assert 8 <= len(keywords) <= 10
    assert {"المياه", "النخيل"} <= set(keywords)
    for phrase in keywords:
        words = phrase.split()
        assert 1 <= len(words) <= 3
        assert words[0] not in ARABIC_STOP_WORDS and words[-1] not in ARABIC_STOP_WORDS
        assert words[0] not in ARABIC_STOPS and words[-1] not in ARABIC_STOPS
    # Grouped under one word and shown with the article but without و/ب/ل.
    assert not any(word in keywords for word in ("والمياه", "بالنخيل", "للمياه", "مياه"))


def test_arabic_output_is_clean_arabic(arabic: dict[str, str]) -> None:
    for part, value in arabic.items():
        assert "\u0640" not in value, part
        assert not PRESENTATION_FORMS.search(value), part
        assert not LATIN.search(value), part
        assert "  " not in value, part


@pytest.mark.parametrize("language", ["en", "ar"])
def test_key_topics_are_bullet_lines(language: str, english: dict[str, str],
                                     arabic: dict[str, str]) -> None:
    parts = english if language == "en" else arabic
    lines = parts["keyTopicsWithBullets"].split("\n")
    assert 3 <= len(lines) <= 5
    normalized = normalize(ENGLISH if language == "en" else ARABIC)
    for line in lines:
        assert line.startswith("• ")
        phrase, sentence = line[2:].split(" — ", 1)
        assert phrase and sentence in normalized
        assert phrase.lower().split()[0] in sentence.lower() or language == "ar"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_titles_are_three_distinct_lines(language: str, english: dict[str, str],
                                         arabic: dict[str, str]) -> None:
    titles = (english if language == "en" else arabic)["titles"].split("\n")
    assert len(titles) == 3
    assert len({title.casefold() for title in titles}) == 3
    assert all(title.strip() == title and title for title in titles)


def test_english_titles_are_title_cased(english: dict[str, str]) -> None:
    for title in english["titles"].split("\n"):
        assert title[0].isupper()
        assert " And " not in title


def test_arabic_titles_attach_the_conjunction(arabic: dict[str, str]) -> None:
    first = arabic["titles"].split("\n")[0]
    assert " و" in first and " و " not in first


@pytest.mark.parametrize(("text", "language"), [(ENGLISH, "en"), (ARABIC, "ar")])
def test_introduction_opens_the_text(text: str, language: str) -> None:
    introduction = _generate(text, language, ["introduction"])["introduction"]
    assert normalize(text).startswith(introduction)
    assert 1 <= len(introduction.split()) <= 60
    assert introduction[-1] in ".?؟!"


def test_one_sentence_still_gives_every_part() -> None:
    sentence = "The Alder River supplies drinking water to the whole city of Millbrook."
    parts = _generate(sentence, "en")
    assert parts["summary"] == sentence
    assert parts["introduction"] == sentence
    assert "river" in parts["keywords"].lower()
    assert parts["titles"] and parts["keyTopicsWithBullets"].startswith("• ")


def test_only_stop_words_still_gives_every_part() -> None:
    parts = _generate("Yes, and so on. Well, it is what it is.", "en")
    assert parts["keywords"] == ""
    assert parts["summary"] and parts["titles"] and parts["keyTopicsWithBullets"]


@pytest.mark.parametrize("text", ["", "   \n\t ", "\u0640\u200b", "... ؟ !"])
def test_empty_transcript_is_a_bad_request(text: str) -> None:
    with pytest.raises(BadRequest, match="transcript"):
        _generate(text, "en")


def test_arabic_prefixes_group_words_and_keep_the_article() -> None:
    text = ("يشرب الناس المياه كل يوم. والمياه نعمة كبيرة. نغسل الثياب بالمياه. "
            "نحتاج للمياه في الصيف. المياه أساس الحياة.")
    keywords = _generate(text, "ar", ["keywords"])["keywords"].split("، ")
    assert keywords[0] == "المياه"
    assert not {"والمياه", "بالمياه", "للمياه"} & set(keywords)


def test_arabic_root_letters_are_not_stripped() -> None:
    # وادي and بحر begin with و and ب but have no article: they stay whole.
    text = "الوادي واسع. يمر النهر في وادي كبير. وادي النيل خصيب. بحر الرمال بعيد عن بحر الماء."
    keywords = _generate(text, "ar", ["keywords"])["keywords"].split("، ")
    assert "وادي" in keywords and "بحر" in keywords


def test_english_plurals_and_names() -> None:
    text = ("Rivers feed the valley. The river floods each spring. Two rivers meet near Dunmore. "
            "People in Dunmore watch the river closely.")
    keywords = _generate(text, "en", ["keywords"])["keywords"].split(", ")
    assert keywords[0] in {"river", "rivers"}
    assert "Dunmore" in keywords
    assert not {"river", "rivers"} <= set(keywords)


def test_unpunctuated_transcript_gets_a_shorter_summary() -> None:
    text = " ".join([ENGLISH.replace(".", "").replace("?", "").replace("\n", " ")] * 2)
    summary = _generate(text, "en", ["summary"])["summary"]
    assert summary and len(summary) < len(normalize(text)) / 2


def test_output_is_deterministic() -> None:
    for text, language in ((ENGLISH, "en"), (ARABIC, "ar")):
        runs = [_generate(text, language) for _ in range(3)]
        assert runs[0] == runs[1] == runs[2]


def test_a_repeated_transcript_repeats_no_summary_sentence() -> None:
    text = "\n".join([ENGLISH] * 20)  # about 5,000 words
    assert len(text.split()) >= 5_000
    parts = _generate(text, "en")
    sentences = split_sentences(parts["summary"], max_chars=10_000)
    assert len(sentences) == len(set(sentences)) == 7  # a repeated sentence is not repeated


@pytest.mark.parametrize("part", ALL_PARTS)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_writes_extractive_parts_in_the_transcript_language(part: str, language: str) -> None:
    assert ExtractiveEngine().refusal(part, PartRequest(language=language), language) is None


@pytest.mark.parametrize(
    ("part", "request_", "transcript_language"),
    [
        ("faq", PartRequest(language="en"), "en"),
        ("linkedInPost", PartRequest(language="ar"), "ar"),
        ("summary", PartRequest(language="ar"), "en"),  # translation
        ("keywords", PartRequest(language="en"), "ar"),
        ("summary", PartRequest(language="both_ar_first"), "ar"),
        ("titles", PartRequest(language="both_en_first"), "en"),
        ("summary", PartRequest(language="en", prompt="Summarize in one line."), "en"),
    ],
)
def test_refuses_what_needs_a_language_model(part: str, request_: PartRequest,
                                             transcript_language: str) -> None:
    reason = ExtractiveEngine().refusal(part, request_, transcript_language)
    assert reason is not None
    assert "language model" in reason
    assert "HAMS_LLM_BASE_URL" in reason and "HAMS_LLM_MODEL" in reason
    assert part in reason


def test_generate_refuses_a_part_it_cannot_write() -> None:
    request = ContentRequest(transcript=ENGLISH, transcript_language="en",
                             parts={"faq": PartRequest(language="en")})
    with pytest.raises(BadRequest, match="HAMS_LLM_BASE_URL"):
        ExtractiveEngine().generate(request)


def test_instructions_are_ignored() -> None:
    plain = _request(ENGLISH, "en")
    guided = ContentRequest(transcript=ENGLISH, transcript_language="en", parts=plain.parts,
                            instructions="Write like a pirate.")
    engine = ExtractiveEngine()
    assert engine.generate(guided).parts == engine.generate(plain).parts


def test_engine_name() -> None:
    assert ExtractiveEngine.name == "extractive"
