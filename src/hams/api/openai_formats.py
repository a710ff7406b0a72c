"""A finished transcription job written back in OpenAI's response formats: ``json`` and
``verbose_json`` (validated by the routes against ``TranscriptionJson`` and
``VerboseTranscription``), ``text``, ``srt`` and ``vtt``."""

from __future__ import annotations

import math
from typing import Any

from hams.engines.stt.languages import language_name
from hams.media.srt import format_timestamp
from hams.services.openai_transcription import AudioTask


def render(response: dict[str, Any], ask: AudioTask) -> tuple[Any, str]:
    """The body in the asked format and its media type: a dict is sent as JSON."""
    segments = response.get("segments") or []
    # the recognizer's segments joined as they are (each brings its own leading space where
    # the language has spaces), as OpenAI's text is: no stray spaces in Chinese or Thai
    text = ("".join(s["text"] for s in segments) if segments else
            str(response.get("text") or "")).strip()
    if ask.response_format == "text":
        return text + "\n", "text/plain; charset=utf-8"
    if ask.response_format == "srt":
        return subtitles(segments, vtt=False), "application/x-subrip; charset=utf-8"
    if ask.response_format == "vtt":
        return subtitles(segments, vtt=True), "text/vtt; charset=utf-8"
    duration = float(response.get("duration") or 0.0)
    usage = {"type": "duration", "seconds": math.ceil(duration)}  # whole seconds, as OpenAI
    if ask.response_format == "json":
        return {"text": text, "usage": usage}, "application/json"
    return verbose(response, ask, text, segments) | {"usage": usage}, "application/json"


def verbose(response: dict[str, Any], ask: AudioTask, text: str,
            segments: list[dict[str, Any]]) -> dict[str, Any]:
    """verbose_json: segments unless only words were asked for, words only when asked for."""
    language = "en" if ask.task == "translate" else response.get("language")
    body: dict[str, Any] = {"task": ask.task, "language": language_name(language),
                            "duration": response.get("duration"), "text": text}
    if not ask.granularities or "segment" in ask.granularities:
        body["segments"] = [_segment(s) for s in segments]
    if "word" in ask.granularities:
        body["words"] = [{"word": w["word"].strip(), "start": w["start"], "end": w["end"]}
                         for s in segments for w in s.get("words") or []]
    return body


def _segment(segment: dict[str, Any]) -> dict[str, Any]:
    return {"id": segment["id"], "seek": segment.get("seek", 0), "start": segment["start"],
            "end": segment["end"], "text": segment["text"], "tokens": segment.get("tokens", []),
            "temperature": segment.get("temperature") or 0.0,
            "avg_logprob": segment.get("avgLogprob", 0.0),
            "compression_ratio": segment.get("compressionRatio", 0.0),
            "no_speech_prob": segment.get("noSpeechProb", 0.0)}


def subtitles(segments: list[dict[str, Any]], *, vtt: bool) -> str:
    """One cue per recognizer segment, as OpenAI's srt and vtt are."""
    cues = []
    for number, segment in enumerate(segments, start=1):
        start, end = format_timestamp(segment["start"]), format_timestamp(segment["end"])
        if vtt:
            cues.append(f"{start.replace(',', '.')} --> {end.replace(',', '.')}\n"
                        f"{segment['text'].strip()}\n")
        else:
            cues.append(f"{number}\n{start} --> {end}\n{segment['text'].strip()}\n")
    body = "\n".join(cues)
    return f"WEBVTT\n\n{body}" if vtt else body
