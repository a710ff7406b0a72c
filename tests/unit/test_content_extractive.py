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

# Unpunctuated Arabic, as speech recognition often writes it, with the recognizer's segments.
SOLAR_SEGMENTS = (
    "تعتمد مدن كثيرة في المنطقة العربية على الطاقة الشمسية لتوليد الكهرباء",
    "وتنتشر الألواح الشمسية اليوم على أسطح المنازل والمدارس والمستشفيات",
    "وتساعد هذه الألواح الأسر على خفض فاتورة الكهرباء في الصيف",
    "وقد بدأت الحكومات في دعم مشاريع الطاقة الشمسية الكبيرة في الصحراء",
    "لأن الشمس تسطع معظم أيام السنة والأراضي الواسعة متوفرة",
    "وتوفر هذه المشاريع آلاف الوظائف للشباب في المناطق البعيدة عن المدن",
    "ويرى الخبراء أن تخزين الكهرباء في البطاريات هو التحدي الأكبر أمام الطاقة الشمسية",
)
SOLAR = " ".join(SOLAR_SEGMENTS)  # about 450 characters
SOLAR_LONG = SOLAR + (  # about 700 characters
    " لأن الطلب على الكهرباء يرتفع في الليل وتعمل الجامعات العربية على تطوير بطاريات أرخص تدوم"
    " سنوات أطول ويأمل المهندسون أن تصبح الطاقة الشمسية المصدر الأول للكهرباء في المنطقة خلال"
    " العقدين القادمين وأن تنخفض أسعار الألواح الشمسية في القرى")

ARABIC_GREETINGS = """\
السلام عليكم ورحمة الله وبركاته أهلا وسهلا بكم مرحبا بكم جميعا في حلقة جديدة. اليوم سنتحدث عن \
زراعة الطماطم في المنزل. تحتاج الطماطم إلى الشمس والماء والتربة الجيدة. نزرع بذور الطماطم في \
أصص صغيرة ثم ننقلها إلى الحديقة. ويجب سقي الطماطم كل يومين في الصيف. شكرا لكم على المتابعة \
والسلام عليكم ورحمة الله وبركاته.
"""

ENGLISH_GREETINGS = """\
Hello everyone and welcome back to the show. Hi guys, thanks for joining us today. Today we are \
talking about growing tomatoes at home. Tomatoes need sun, water and good soil. We plant tomato \
seeds in small pots and then move them to the garden. Water the tomatoes every two days in \
summer. Thanks for watching, thank you so much, and welcome again next week. Bye everyone!
"""

AI_IN_EDUCATION = """\
الذكاء الاصطناعي في التعليم موضوع يهم المعلمين والطلاب. يساعد الذكاء الاصطناعي المعلمين على \
تصحيح الواجبات بسرعة. ويساعد الذكاء الاصطناعي في التعليم الطلاب على التعلم حسب مستواهم. تستخدم \
المدارس منصات التعلم الذكية لمتابعة تقدم الطلاب. لكن الذكاء الاصطناعي لا يغني عن المعلم في \
الفصل. ويبقى دور المعلم أساسيا في التعليم. يساعد الذكاء الاصطناعي أيضا في إعداد الاختبارات.
"""

ELECTRIC_CARS = """\
Electric cars are getting cheaper every year. Battery prices have fallen, so electric cars are \
cheaper to build. Charging stations now line the main highways. Electric cars are cheaper to run \
than petrol cars. Drivers still worry about charging stations in rural areas. Governments offer \
tax credits for electric cars. Battery prices will keep falling as factories grow.
"""

ALL_PARTS = sorted(EXTRACTIVE_PARTS)
ARABIC_STOPS = {"في", "من", "على", "إلى", "أن", "التي", "الذي", "هذا", "هذه", "كان"}
PRESENTATION_FORMS = re.compile(r"[\ufb50-\ufdff\ufe70-\ufeff]")
LATIN = re.compile(r"[A-Za-z]")


def _request(text: str, language: str, parts: list[str] | None = None,
             segments: tuple[str, ...] = ()) -> ContentRequest:
    parts = ALL_PARTS if parts is None else parts
    return ContentRequest(transcript=text, transcript_language=language,
                          parts={part: PartRequest(language=language) for part in parts},
                          segments=segments)


def _generate(text: str, language: str, parts: list[str] | None = None,
              segments: tuple[str, ...] = ()) -> dict[str, str]:
    return ExtractiveEngine().generate(_request(text, language, parts, segments)).parts


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


def _is_subsequence(words: list[str], of: list[str]) -> bool:
    remaining = iter(of)
    return all(word in remaining for word in words)


def _topic_sentences(topics: str) -> list[str]:
    return [line.split(" — ", 1)[1] for line in topics.split("\n") if " — " in line]


@pytest.mark.parametrize("text", [SOLAR, SOLAR_LONG])
def test_unpunctuated_arabic_gives_short_parts_of_whole_words(text: str) -> None:
    assert 400 <= len(text) <= 750 and not re.search(r"[.!?؟،,]", text)
    parts = _generate(text, "ar")
    words = text.split()
    summary = parts["summary"]
    assert summary and len(summary) < len(text)
    assert _is_subsequence(summary.split(), words)  # whole words, in the text's order
    assert len(summary.split()) <= 40
    introduction = parts["introduction"].removesuffix("…").split()
    assert 1 <= len(introduction) <= 60
    assert words[: len(introduction)] == introduction
    topics = parts["keyTopicsWithBullets"]
    assert len(topics) < len(text)
    for sentence in _topic_sentences(topics):
        assert len(sentence.split()) <= 30
        assert sentence.removesuffix("…") in text
        # A run is cut before a conjunction that opens a clause, not in the middle of one.
        assert sentence.split()[0] in (words[0], "لأن") or sentence.startswith("و")
    assert parts["titles"].count("\n") == 2


def test_arabic_segments_are_the_units_of_an_unpunctuated_transcript() -> None:
    parts = _generate(SOLAR, "ar", segments=SOLAR_SEGMENTS)
    rest, picked = parts["summary"], []
    for segment in SOLAR_SEGMENTS:
        if rest == segment or rest.startswith(segment + " "):
            picked.append(segment)
            rest = rest[len(segment):].lstrip(" ")
    assert rest == "" and 1 <= len(picked) < len(SOLAR_SEGMENTS)  # whole segments only
    assert all(sentence in SOLAR_SEGMENTS for sentence in
               _topic_sentences(parts["keyTopicsWithBullets"]))
    assert len(parts["keyTopicsWithBullets"]) < len(SOLAR)
    assert parts["introduction"].startswith(SOLAR_SEGMENTS[0])


def test_segments_are_ignored_when_the_text_is_punctuated_or_differs() -> None:
    plain = _generate(ARABIC, "ar")
    # A punctuated transcript keeps its sentences.
    halves = (normalize(ARABIC)[:200], normalize(ARABIC)[200:])
    assert _generate(ARABIC, "ar", segments=halves) == plain
    # Segments that do not hold the transcript's words are not trusted.
    other = _generate(SOLAR, "ar", segments=("كلام آخر تماما", *SOLAR_SEGMENTS[1:]))
    assert other == _generate(SOLAR, "ar")


def test_unpunctuated_english_is_cut_before_conjunctions() -> None:
    text = ("the city depends on the river for its water and every morning pumps draw river "
            "water into the treatment plant on the northern bank but in recent years the river "
            "has become less reliable because summers are longer and drier and farmers upstream "
            "take more river water for their fields so the city is building a reservoir that "
            "will store winter water for the dry months and it pays farmers to plant trees "
            "along the river")
    parts = _generate(text, "en")
    assert len(parts["summary"]) < len(text)
    assert _is_subsequence(parts["summary"].lower().split(), text.split())
    for sentence in _topic_sentences(parts["keyTopicsWithBullets"]):
        assert sentence.split()[0].lower() in {"the", "and", "but", "because", "so"}


def test_greetings_are_not_keywords() -> None:
    arabic = _generate(ARABIC_GREETINGS, "ar")
    english = _generate(ENGLISH_GREETINGS, "en")
    arabic_greetings = {"السلام", "عليكم", "ورحمة", "الله", "وبركاته", "أهلا", "وسهلا", "بكم",
                        "مرحبا", "شكرا", "لكم", "المتابعة", "حلقة", "جديدة", "اليوم", "سنتحدث"}
    english_greetings = {"hello", "hi", "welcome", "thanks", "thank", "guys", "everyone", "show",
                         "watching", "joining", "talking", "today", "bye"}
    for parts, greetings, separator in ((arabic, arabic_greetings, "، "),
                                        (english, english_greetings, ", ")):
        keywords = parts["keywords"].split(separator)
        assert len(keywords) >= 5
        assert not {word.lower() for phrase in keywords for word in phrase.split()} & greetings
        names = [line[2:].split(" — ")[0] for line in parts["keyTopicsWithBullets"].split("\n")]
        assert not {word.lower() for name in names for word in name.split()} & greetings
        titles = parts["titles"].replace(":", " ").split()
        assert not {word.lower().removeprefix("و") for word in titles} & greetings
    assert "الطماطم" in arabic["keywords"] and "tomatoes" in english["keywords"]
    # An introduction does not open on a unit of nothing but greetings.
    assert arabic["introduction"].startswith("اليوم سنتحدث عن زراعة الطماطم")
    assert english["introduction"].startswith("Today we are talking about growing tomatoes")


def test_a_greeting_formula_leaves_its_words_free_elsewhere() -> None:
    text = ("السلام عليكم ورحمة الله وبركاته. حديثنا عن رحمة الله بعباده. رحمة الله وسعت كل شيء. "
            "ومن رحمة الله أنه يقبل التوبة. ونسأل الله أن يشملنا برحمته.")
    keywords = _generate(text, "ar", ["keywords"])["keywords"].split("، ")
    assert "رحمة الله" in keywords or "الله" in keywords


@pytest.mark.parametrize(("text", "language", "bad"), [
    (AI_IN_EDUCATION, "ar", {"الذكاء الاصطناعي ويساعد", "يساعد والاصطناعي في التعليم",
                             "الطلاب ويساعد الذكاء"}),
    (ELECTRIC_CARS, "en", {"Electric Cars and Cheaper", "Battery Prices and Cars Are Cheaper"}),
])
def test_titles_are_built_from_noun_phrases(text: str, language: str, bad: set[str]) -> None:
    titles = _generate(text, language, ["titles"])["titles"].split("\n")
    assert len(titles) == len({title.casefold() for title in titles}) == 3
    assert not set(titles) & bad
    folded = normalize(text).casefold()
    for title in titles:
        for word in title.replace(":", " ").split():
            word = word.casefold()
            if language == "ar":
                assert word in folded or word.removeprefix("و") in folded, title
                assert word.removeprefix("و") != "يساعد", title  # a verb
                assert word != "والاصطناعي", title  # half of "الذكاء الاصطناعي"
            else:
                assert word in folded or word == "and", title
                assert word not in {"cheaper", "are", "getting"}, title


def test_parts_stay_short_for_every_transcript() -> None:
    for text, language, segments in ((SOLAR, "ar", ()), (SOLAR_LONG, "ar", ()),
                                     (SOLAR, "ar", SOLAR_SEGMENTS), (ENGLISH, "en", ()),
                                     (ARABIC, "ar", ()), (ARABIC_GREETINGS, "ar", ()),
                                     (ENGLISH_GREETINGS, "en", ()), (ELECTRIC_CARS, "en", ())):
        parts = _generate(text, language, segments=segments)
        length = len(normalize(text))
        assert len(parts["summary"]) < length
        assert len(parts["keyTopicsWithBullets"]) <= length
        assert len(parts["introduction"].split()) <= 60
        assert not parts["summary"][0].isspace() and parts["summary"].split()[0] in text


def test_output_is_deterministic() -> None:
    for text, language in ((ENGLISH, "en"), (ARABIC, "ar"), (SOLAR_LONG, "ar")):
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
