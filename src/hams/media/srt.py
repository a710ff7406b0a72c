"""SubRip (SRT) subtitles built from word-level timestamps, honouring the API's ``srtOptions``.

All timing work is done in integer milliseconds so that what is checked is what is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from hams.errors import ValidationFailed

__all__ = ["SrtOptions", "build_srt", "format_timestamp"]

# Python field name -> wire (camelCase) name, in declaration order.
_WIRE_NAMES = {
    "max_lines_per_subtitle": "maxLinesPerSubtitle",
    "single_speaker_per_subtitle": "singleSpeakerPerSubtitle",
    "max_chars_per_line": "maxCharsPerLine",
    "max_mergeable_gap": "maxMergeableGap",
    "min_duration": "minDuration",
    "max_duration": "maxDuration",
    "min_gap": "minGap",
}


def _invalid(name: str, problem: str) -> ValidationFailed:
    """Name the wire field at fault, since that is what the caller sent."""
    wire = _WIRE_NAMES.get(name, name)
    return ValidationFailed(f"srtOptions.{wire} {problem}", data={"field": f"srtOptions.{wire}"})


@dataclass(frozen=True)
class SrtOptions:
    """How cues are cut; validated on construction so a bad value never reaches the builder."""

    max_lines_per_subtitle: int = 2
    single_speaker_per_subtitle: bool = True
    max_chars_per_line: int = 42
    max_mergeable_gap: float = 0.3
    min_duration: float = 0.7
    max_duration: float = 7.0
    min_gap: float = 0.04

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_type(f.name, getattr(self, f.name), f.type)
        for name in ("max_chars_per_line", "max_lines_per_subtitle", "max_duration"):
            if getattr(self, name) <= 0:
                raise _invalid(name, "must be greater than 0")
        for name in ("max_mergeable_gap", "min_duration", "min_gap"):
            if getattr(self, name) < 0:
                raise _invalid(name, "must not be negative")
        if self.min_duration > self.max_duration:
            raise _invalid("min_duration", "must not exceed maxDuration")

    @classmethod
    def from_wire(cls, mapping: Mapping[str, Any] | None) -> SrtOptions:
        """Read the camelCase request object; missing or null keys keep their defaults."""
        if mapping is None:
            return cls()
        if not isinstance(mapping, Mapping):
            raise ValidationFailed("srtOptions must be an object", data={"field": "srtOptions"})
        by_wire = {wire: name for name, wire in _WIRE_NAMES.items()}
        unknown = sorted(str(k) for k in mapping if k not in by_wire)
        if unknown:
            raise ValidationFailed(
                f"srtOptions has unknown field(s): {', '.join(unknown)}",
                data={"field": "srtOptions", "unknown": unknown},
            )
        kwargs = {by_wire[k]: v for k, v in mapping.items() if v is not None}
        return cls(**kwargs)


def _check_type(name: str, value: object, declared: object) -> None:
    """Reject bools posing as numbers and non-finite floats, which JSON parsers let through."""
    kind = str(declared)
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(name, "must be a boolean")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(name, "must be an integer")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(name, "must be a number")
    elif not math.isfinite(value):
        raise _invalid(name, "must be finite")


@dataclass
class _Word:
    text: str
    start: int  # ms
    end: int  # ms
    speaker: str | None


@dataclass
class _Cue:
    start: int
    end: int
    speaker: str | None
    lines: list[list[str]] = field(default_factory=list)


def _ms(seconds: Any) -> int:
    """Seconds to whole milliseconds, treating junk and negatives as zero."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return 0
    return max(0, round(value * 1000)) if math.isfinite(value) else 0


def format_timestamp(seconds: float) -> str:
    """Render seconds as SRT's ``HH:MM:SS,mmm``."""
    return _format_ms(_ms(seconds))


def _format_ms(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def _segment_words(segment: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """Word timings of one segment; without any, spread its text evenly over its span."""
    words = segment.get("words") or []
    seg_start, seg_end = _ms(segment.get("start")), _ms(segment.get("end"))
    if words:
        return [
            (
                str(w.get("word") or "").strip(),
                seg_start if w.get("start") is None else _ms(w["start"]),
                seg_end if w.get("end") is None else _ms(w["end"]),
            )
            for w in words
        ]
    tokens = str(segment.get("text") or "").split()
    span = max(0, seg_end - seg_start)
    n = len(tokens)
    return [
        (tok, seg_start + span * i // n, seg_start + span * (i + 1) // n)
        for i, tok in enumerate(tokens)
    ]


def _flatten(segments: Sequence[Mapping[str, Any]], max_dur: int) -> list[_Word]:
    """One stream of words with monotonic, non-overlapping times no longer than a cue may be."""
    out: list[_Word] = []
    prev_end = 0
    for segment in segments:
        speaker = segment.get("speaker")
        for text, start, end in _segment_words(segment):
            if not text:
                continue
            start = max(start, prev_end)
            end = min(max(end, start), start + max_dur)
            out.append(_Word(text, start, end, speaker))
            prev_end = end
    return out


def _group(words: list[_Word], opts: SrtOptions) -> list[_Cue]:
    """Pack words greedily into lines and cues, cutting on fullness, pauses, length and speaker."""
    max_gap, max_dur = _ms(opts.max_mergeable_gap), _ms(opts.max_duration)
    cues: list[_Cue] = []
    cue: _Cue | None = None
    for w in words:
        if cue is not None:
            line = cue.lines[-1]
            fits = len(" ".join([*line, w.text])) <= opts.max_chars_per_line
            breaks = (
                (not fits and len(cue.lines) >= opts.max_lines_per_subtitle)
                or w.start - cue.end > max_gap
                or w.end - cue.start > max_dur
                or (opts.single_speaker_per_subtitle and w.speaker != cue.speaker)
            )
            if not breaks:
                if fits:
                    line.append(w.text)
                else:
                    cue.lines.append([w.text])
                cue.end = w.end
                continue
        cue = _Cue(w.start, w.end, w.speaker, [[w.text]])
        cues.append(cue)
    return cues


def _space(cues: list[_Cue], opts: SrtOptions) -> None:
    """Keep min_gap between cues, then lengthen short cues where the next cue leaves room."""
    min_gap, min_dur = _ms(opts.min_gap), _ms(opts.min_duration)
    for prev, cur in zip(cues, cues[1:], strict=False):
        prev.end = max(prev.start, min(prev.end, cur.start - min_gap))
        if cur.start - prev.end < min_gap:  # only for zero-length cues stacked at one instant
            cur.start = prev.end + min_gap
            cur.end = max(cur.end, cur.start)
    for i, cue in enumerate(cues):
        if cue.end - cue.start >= min_dur:
            continue
        target = cue.start + min_dur
        if i + 1 < len(cues):
            target = min(target, cues[i + 1].start - min_gap)
        cue.end = max(cue.end, target)


def build_srt(segments: Sequence[Mapping[str, Any]], options: SrtOptions = SrtOptions()) -> str:
    """Render transcription segments as an SRT document; no words gives an empty string."""
    cues = _group(_flatten(segments, _ms(options.max_duration)), options)
    _space(cues, options)
    blocks = [
        f"{n}\n{_format_ms(c.start)} --> {_format_ms(c.end)}\n"
        + "\n".join(" ".join(line) for line in c.lines)
        for n, c in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""
