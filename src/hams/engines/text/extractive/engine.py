"""``ExtractiveEngine``: the content engine that needs no model. It refuses what only a
language model can write (naming the setting that brings one in) and runs the part writers.

Its own module because this is the engine Protocol's face; the rest of the package is how the
parts are made.
"""

from __future__ import annotations

from hams.engines.text import (
    EXTRACTIVE_PARTS,
    ContentRequest,
    ContentResult,
    PartRequest,
    output_languages,
)
from hams.engines.text.extractive.document import Document
from hams.engines.text.extractive.writers import WRITERS
from hams.errors import BadRequest
from hams.text.normalize import normalize

LLM_SETTING = "set HAMS_LLM_BASE_URL and HAMS_LLM_MODEL to an OpenAI-compatible endpoint"

_LANGUAGE_NAMES = {"ar": "Arabic", "en": "English"}


class ExtractiveEngine:
    """Writes summaries, keywords, key topics, titles and introductions by picking sentences
    and phrases from the transcript: always available, deterministic, no model to configure."""

    name = "extractive"

    def refusal(self, part: str, request: PartRequest, transcript_language: str) -> str | None:
        """Why this engine cannot write `part` as asked, or None when it can. Every reason
        names the setting that brings in a language model, the only way to get it written."""
        if part not in EXTRACTIVE_PARTS:
            return f"{part} needs a language model: {LLM_SETTING}"
        if request.prompt is not None:
            return f"A custom prompt for {part} needs a language model: {LLM_SETTING}"
        languages = output_languages(request.language)
        if len(languages) > 1:
            return (f"{part} in both Arabic and English needs a language model to translate: "
                    f"{LLM_SETTING}")
        if languages != (transcript_language,):
            wanted = _LANGUAGE_NAMES.get(languages[0], languages[0])
            spoken = _LANGUAGE_NAMES.get(transcript_language, transcript_language)
            return (f"{part} in {wanted} from a transcript in {spoken} needs a language model "
                    f"to translate: {LLM_SETTING}")
        return None

    def check(self, request: ContentRequest) -> None:
        """Nothing to check beyond ``refusal``: the engine has no size limit to meet."""

    def generate(self, request: ContentRequest) -> ContentResult:
        """Write every requested part from the transcript. ``request.instructions`` is ignored:
        the service refuses instructions before they reach this engine."""
        for part, part_request in request.parts.items():
            reason = self.refusal(part, part_request, request.transcript_language)
            if reason:
                raise BadRequest(reason)
        text = normalize(request.transcript)
        if not text:
            raise BadRequest("The transcript is empty: there is nothing to write from.")
        document = Document(text, request.transcript_language, request.segments)
        parts = {part: normalize(WRITERS[part](document)) for part in request.parts}
        return ContentResult(parts=parts)
