"""SRT building: invariants on real-looking English and Arabic transcripts, plus random streams."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from hams.errors import ValidationFailed
from hams.media.srt import SrtOptions, build_srt, format_timestamp

_TIME = re.compile(r"^(\d{2}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2}):(\d{2}):(\d{2}),(\d{3})$")

Cue = tuple[int, int, int, list[str]]  # index, start ms, end ms, lines


def parse_srt(text: str) -> list[Cue]:
    """Parse SRT strictly enough that a format slip fails the test."""
    if text == "":
        return []
    assert text.endswith("\n") and not text.endswith("\n\n"), "one trailing newline"
    cues: list[Cue] = []
    for block in text[:-1].split("\n\n"):
        index, timing, *lines = block.split("\n")
        match = _TIME.match(timing)
        assert match, f"bad timing line {timing!r}"
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
        start = ((h1 * 60 + m1) * 60 + s1) * 1000 + ms1
        end = ((h2 * 60 + m2) * 60 + s2) * 1000 + ms2
        assert lines and all(line.strip() == line and line for line in lines)
        cues.append((int(index), start, end, lines))
    return cues


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def words_from(tokens: list[tuple[str, float, float]]) -> list[dict[str, Any]]:
    return [{"word": f" {t}", "start": s, "end": e, "probability": 0.9} for t, s, e in tokens]


def segment(
    tokens: list[tuple[str, float, float]], speaker: str | None = None, seg_id: int = 0
) -> dict[str, Any]:
    words = words_from(tokens)
    return {
        "id": seg_id,
        "start": tokens[0][1],
        "end": tokens[-1][2],
        "text": "".join(w["word"] for w in words),
        "speaker": speaker,
        "words": words,
    }


def timed(text: str, start: float = 0.0, step: float = 0.3, dur: float = 0.25) -> list:
    """Evenly paced words, as a speaker talking steadily."""
    return [(w, start + i * step, start + i * step + dur) for i, w in enumerate(text.split())]


def expected_words(segments: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for seg in segments:
        if seg.get("words"):
            out += [w["word"].strip() for w in seg["words"] if w["word"].strip()]
        else:
            out += seg.get("text", "").split()
    return out


def check_invariants(srt: str, segments: list[dict[str, Any]], opts: SrtOptions) -> list[Cue]:
    cues = parse_srt(srt)
    assert [c[0] for c in cues] == list(range(1, len(cues) + 1))
    for i, (_, start, end, lines) in enumerate(cues):
        assert 0 <= start <= end
        assert end - start <= ms(opts.max_duration)
        assert len(lines) <= opts.max_lines_per_subtitle
        for line in lines:
            assert len(line) <= opts.max_chars_per_line or " " not in line, line
        if i + 1 < len(cues):
            next_start = cues[i + 1][1]
            assert next_start - end >= ms(opts.min_gap)
            if end - start < ms(opts.min_duration):
                assert end == next_start - ms(opts.min_gap), "short cue had room to grow"
        else:
            assert end - start >= ms(opts.min_duration)
    got = [w for c in cues for line in c[3] for w in line.split(" ")]
    assert got == expected_words(segments)
    return cues


ENGLISH = (
    "Good morning everyone and welcome to the quarterly review. Today we will walk through "
    "revenue, hiring, and the product roadmap for the second half of the year, so please "
    "hold your questions until the end."
)
ARABIC = (
    "صباح الخير جميعا ومرحبا بكم في المراجعة الفصلية. سنستعرض اليوم الإيرادات والتوظيف "
    "وخارطة طريق المنتج للنصف الثاني من العام، لذا يرجى الاحتفاظ بأسئلتكم حتى النهاية."
)


# --- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "00:00:00,000"),
        (3661.5, "01:01:01,500"),
        (59.999, "00:00:59,999"),
        (0.0004, "00:00:00,000"),
        (36000.25, "10:00:00,250"),
    ],
)
def test_format_timestamp(seconds: float, expected: str) -> None:
    assert format_timestamp(seconds) == expected


def test_empty_input_gives_empty_string() -> None:
    assert build_srt([]) == ""
    assert build_srt([{"id": 0, "start": 0.0, "end": 1.0, "text": "  ", "words": []}]) == ""


def test_output_shape() -> None:
    segs = [segment(timed("Hello there"), "A"), segment(timed("General Kenobi", 2.0), "B")]
    assert build_srt(segs) == (
        "1\n00:00:00,000 --> 00:00:00,700\nHello there\n\n"
        "2\n00:00:02,000 --> 00:00:02,700\nGeneral Kenobi\n"
    )


# --- real-looking transcripts ---------------------------------------------------------------


@pytest.mark.parametrize("text", [ENGLISH, ARABIC], ids=["english", "arabic"])
@pytest.mark.parametrize(
    "opts",
    [
        SrtOptions(),
        SrtOptions(max_chars_per_line=20, max_lines_per_subtitle=1),
        SrtOptions(
            max_chars_per_line=30, max_lines_per_subtitle=3, max_duration=3.0, min_duration=1.0
        ),
    ],
)
def test_transcript_invariants(text: str, opts: SrtOptions) -> None:
    tokens = timed(text)
    segs = [segment(tokens[:15], "SPEAKER_1", 0), segment(tokens[15:], "SPEAKER_1", 1)]
    cues = check_invariants(build_srt(segs, opts), segs, opts)
    assert len(cues) > 1


def test_arabic_counts_characters_not_bytes() -> None:
    # Each word is 9 letters (18 bytes in UTF-8): two fit a 21-character line, by bytes none would.
    segs = [segment(timed("مرحبامرحب مرحبامرحب مرحبامرحب"))]
    cues = parse_srt(build_srt(segs, SrtOptions(max_chars_per_line=21)))
    assert cues[0][3] == ["مرحبامرحب مرحبامرحب", "مرحبامرحب"]


def test_long_word_sits_alone_on_its_line() -> None:
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis"
    segs = [segment(timed(f"a {long_word} b"))]
    opts = SrtOptions(max_chars_per_line=10, max_lines_per_subtitle=3)
    cues = check_invariants(build_srt(segs, opts), segs, opts)
    assert cues[0][3] == ["a", long_word, "b"]


def test_lines_fill_then_new_cue() -> None:
    segs = [segment(timed("one two three four five six"))]
    opts = SrtOptions(max_chars_per_line=9, max_lines_per_subtitle=2)
    cues = check_invariants(build_srt(segs, opts), segs, opts)
    assert [c[3] for c in cues] == [["one two", "three"], ["four five", "six"]]


def test_long_pause_splits_cues() -> None:
    tokens = timed("before the pause") + timed("after it", start=2.0)
    segs = [segment(tokens)]
    cues = check_invariants(build_srt(segs), segs, SrtOptions())
    assert [c[3] for c in cues] == [["before the pause"], ["after it"]]


def test_short_pause_does_not_split() -> None:
    tokens = timed("before the pause") + timed("after it", start=0.85 + 0.29)
    cues = parse_srt(build_srt([segment(tokens)]))
    assert [c[3] for c in cues] == [["before the pause after it"]]


@pytest.mark.parametrize("single", [True, False])
def test_speaker_change(single: bool) -> None:
    segs = [segment(timed("How are you?"), "SPEAKER_1"), segment(timed("Fine thanks", 0.9), "B")]
    opts = SrtOptions(single_speaker_per_subtitle=single)
    cues = check_invariants(build_srt(segs, opts), segs, opts)
    if single:
        assert [c[3] for c in cues] == [["How are you?"], ["Fine thanks"]]
    else:
        assert [c[3] for c in cues] == [["How are you? Fine thanks"]]


def test_min_gap_trims_earlier_cue() -> None:
    segs = [segment([("Yes", 0.0, 1.0)], "A"), segment([("No", 1.0, 2.0)], "B")]
    cues = parse_srt(build_srt(segs))
    assert [(c[1], c[2]) for c in cues] == [(0, 960), (1000, 2000)]


def test_short_cue_extended_when_room_allows() -> None:
    segs = [segment([("Hi", 1.0, 1.2)], "A"), segment([("Bye", 5.0, 5.1)], "B")]
    cues = parse_srt(build_srt(segs, SrtOptions(min_duration=1.0)))
    assert [(c[1], c[2]) for c in cues] == [(1000, 2000), (5000, 6000)]


def test_short_cue_extension_stops_before_next_cue() -> None:
    segs = [segment([("Hi", 1.0, 1.2)], "A"), segment([("Bye", 1.5, 3.0)], "B")]
    cues = parse_srt(build_srt(segs, SrtOptions(min_duration=1.0)))
    assert [(c[1], c[2]) for c in cues] == [(1000, 1460), (1500, 3000)]


def test_max_duration_splits_and_caps() -> None:
    tokens = timed(ENGLISH, step=0.5, dur=0.45)
    segs = [segment(tokens)]
    opts = SrtOptions(max_chars_per_line=80, max_lines_per_subtitle=5, max_duration=2.0)
    cues = check_invariants(build_srt(segs, opts), segs, opts)
    assert len(cues) >= len(tokens) // 4
    one_long = [segment([("Ummmm", 0.0, 30.0)])]
    assert parse_srt(build_srt(one_long, opts))[0][1:3] == (0, 2000)


@pytest.mark.parametrize("words", [[], None, "missing"])
def test_segment_without_words_spreads_text(words: Any) -> None:
    seg: dict[str, Any] = {"id": 0, "start": 10.0, "end": 12.0, "text": " أهلا وسهلا بكم يا أصدقاء"}
    if words != "missing":
        seg["words"] = words
    cues = check_invariants(build_srt([seg]), [seg], SrtOptions())
    assert cues == [(1, 10000, 12000, ["أهلا وسهلا بكم يا أصدقاء"])]


def test_mixed_segments_with_and_without_words() -> None:
    segs = [
        segment(timed("First part with words"), "A"),
        {"id": 1, "start": 1.5, "end": 3.5, "text": " second part without", "speaker": "A"},
        segment(timed("and a third", start=8.0), "A", 2),
    ]
    check_invariants(build_srt(segs), segs, SrtOptions())


# --- options --------------------------------------------------------------------------------


def test_from_wire_defaults() -> None:
    assert SrtOptions.from_wire(None) == SrtOptions()
    assert SrtOptions.from_wire({}) == SrtOptions()
    assert SrtOptions.from_wire({"maxCharsPerLine": None, "minGap": None}) == SrtOptions()


def test_from_wire_reads_every_key() -> None:
    wire = {
        "maxLinesPerSubtitle": 3,
        "singleSpeakerPerSubtitle": False,
        "maxCharsPerLine": 32,
        "maxMergeableGap": 0.5,
        "minDuration": 1,
        "maxDuration": 6.5,
        "minGap": 0.1,
    }
    assert SrtOptions.from_wire(wire) == SrtOptions(3, False, 32, 0.5, 1, 6.5, 0.1)


def test_from_wire_rejects_unknown_key() -> None:
    with pytest.raises(ValidationFailed, match="maxCharPerLine"):
        SrtOptions.from_wire({"maxCharPerLine": 40})


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        ({"maxCharsPerLine": True}, "maxCharsPerLine"),
        ({"maxCharsPerLine": 42.5}, "maxCharsPerLine"),
        ({"maxLinesPerSubtitle": "2"}, "maxLinesPerSubtitle"),
        ({"singleSpeakerPerSubtitle": "true"}, "singleSpeakerPerSubtitle"),
        ({"singleSpeakerPerSubtitle": 1}, "singleSpeakerPerSubtitle"),
        ({"minGap": False}, "minGap"),
        ({"maxDuration": "7"}, "maxDuration"),
        ({"maxMergeableGap": float("nan")}, "maxMergeableGap"),
    ],
)
def test_from_wire_rejects_bad_types(wire: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed, match=field):
        SrtOptions.from_wire(wire)


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        ({"maxCharsPerLine": 0}, "maxCharsPerLine"),
        ({"maxLinesPerSubtitle": -1}, "maxLinesPerSubtitle"),
        ({"maxDuration": 0}, "maxDuration"),
        ({"minGap": -0.01}, "minGap"),
        ({"maxMergeableGap": -1}, "maxMergeableGap"),
        ({"minDuration": -0.5}, "minDuration"),
        ({"minDuration": 5, "maxDuration": 4}, "minDuration"),
    ],
)
def test_from_wire_rejects_out_of_range(wire: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed, match=field):
        SrtOptions.from_wire(wire)


def test_from_wire_rejects_non_object() -> None:
    with pytest.raises(ValidationFailed):
        SrtOptions.from_wire(["maxCharsPerLine"])  # type: ignore[arg-type]


def test_direct_construction_is_validated() -> None:
    with pytest.raises(ValidationFailed, match="maxDuration"):
        SrtOptions(max_duration=-1.0)


# --- property-style -------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzأبتثجحخدذرزسشصضطظعغفقكلمنهوي"


def _random_case(rng: random.Random) -> tuple[list[dict[str, Any]], SrtOptions]:
    min_dur = rng.choice([0.0, 0.3, 0.7, 1.5])
    opts = SrtOptions(
        max_lines_per_subtitle=rng.randint(1, 3),
        single_speaker_per_subtitle=rng.random() < 0.5,
        max_chars_per_line=rng.randint(5, 50),
        max_mergeable_gap=rng.choice([0.0, 0.1, 0.3, 1.0]),
        min_duration=min_dur,
        max_duration=rng.choice([min_dur + 0.5, 3.0, 7.0]),
        min_gap=rng.choice([0.0, 0.04, 0.2]),
    )
    segments: list[dict[str, Any]] = []
    t = rng.uniform(0, 5)
    for seg_id in range(rng.randint(0, 6)):
        tokens = []
        for _ in range(rng.randint(1, 25)):
            word = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(1, 14)))
            # Negative steps mimic the overlapping word times aligners sometimes emit.
            t = max(0.0, t + rng.choice([-0.3, 0.0, 0.0, 0.05, 0.2, 0.5, 2.0]) * rng.random())
            dur = rng.choice([0.0, rng.uniform(0.05, 0.8), rng.uniform(1, 10)])
            tokens.append((word, round(t, 3), round(t + dur, 3)))
            t += dur
        speaker = rng.choice([None, "SPEAKER_0", "SPEAKER_1"])
        seg = segment(tokens, speaker, seg_id)
        if rng.random() < 0.15:
            seg["words"] = rng.choice([[], None])
        segments.append(seg)
    return segments, opts


@pytest.mark.parametrize("seed", range(300))
def test_random_streams_keep_invariants(seed: int) -> None:
    rng = random.Random(seed)
    segments, opts = _random_case(rng)
    check_invariants(build_srt(segments, opts), segments, opts)
