"""Reading the model's answer: the text inside its ``{"content": ...}`` JSON, tolerating the
usual wrappers, or ContentGenerationFailed; and a short quotation of a bad answer.

Its own module because the contract an answer must meet is what keeps a wrong answer out of a
customer's content, and it is tested on its own.
"""

from __future__ import annotations

import json
import re

from hams.errors import ContentGenerationFailed

EXCERPT_CHARS = 200

_FENCE = re.compile(r"^```[A-Za-z]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)
_THINKING = re.compile(r"^<think>.*?</think>", re.DOTALL)


def parse_content(text: str, part: str, truncated: bool = False) -> str:
    """The text inside the model's ``{"content": ...}`` answer, or ContentGenerationFailed.

    Tolerated: surrounding whitespace, a Markdown code fence, a leading ``<think>`` block
    (reasoning models served without a reasoning parser), raw line breaks and tabs inside the
    string (small models often write them instead of ``\\n``), a list of lines as the value,
    and the part's name as the key.
    """
    raw = text
    text = _THINKING.sub("", text.strip()).strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    why = ""
    try:
        data = json.loads(text, strict=False)  # control characters allowed inside strings
    except ValueError:
        why = "is not JSON"
        if truncated:
            why += " (it was cut off at the model's token limit)"
    else:
        value = data.get("content", data.get(part)) if isinstance(data, dict) else None
        if isinstance(value, list) and all(isinstance(line, str) for line in value):
            value = "\n".join(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if not isinstance(data, dict):
            why = "is not a JSON object"
        elif value is None:
            why = 'has no "content" key'
        else:
            why = 'has an empty or non-text "content"'
    raise ContentGenerationFailed(f"the model's answer for '{part}' {why}: {excerpt(raw)}")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, one-line quotation of what a server or model sent, for error messages."""
    text = " ".join(text.split())
    if not text:
        return "(empty)"
    quoted = repr(text)
    return quoted if len(quoted) <= limit else quoted[: limit - 1] + "…"
