"""AI content from any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, OpenAI).

One chat request writes one part in one language, so a bad answer fails one small request and
the model never has to juggle twelve formats at once. Every answer must be the JSON object
``{"content": "..."}``: a strict contract is what lets a wrong answer fail loudly instead of
landing in a customer's summary.

Failures map onto hams' errors where they enter:

    429, 5xx, timeout, connection error   retried with jittered exponential backoff, then
                                          ServiceUnavailable (503 LLM_UNAVAILABLE, retryable:
                                          the worker tries the job again later); a Retry-After
                                          over 30 s skips the in-process retries and raises it
                                          at once
    other 4xx (unknown model, bad key)    ContentGenerationFailed (502 LLM_REQUEST_REFUSED;
                                          retrying cannot help)
    an answer that breaks the contract    ContentGenerationFailed (502 AI_CONTENT_FAILED)

An error raised once the job's requests have begun carries ``usage``, the
``(prompt_tokens, completion_tokens)`` the endpoint reported so far (each None when never
reported), so that tokens spent before a failure can still be accounted for.

``max_input_chars`` bounds the message text of every request: system message plus user message,
the instruction or custom prompt, title, date, additional instructions and markers included.
What the largest request of a job needs besides the transcript is set aside first, and the
transcript gets the rest. A transcript longer than that is condensed into notes first, chunk by
chunk, once per job, so that every part is written from a source that fits the model's context.
Anything in the transcript or notes that reads as a marker is removed first, so that text
cannot close its own block and pass itself off as instructions.

Modules
-------
- ``prompts``: the instructions, system message and the one layout of every request.
- ``budget``: fitting a job into ``max_input_chars``, and cutting a long text into chunks.
- ``transport``: one job's chat requests, with retries and summed token usage.
- ``answers``: reading the model's ``{"content": ...}`` answer, and quoting bad answers.
- ``engine``: ``LlmEngine``, which writes the parts (condensing a long transcript first).
"""

from __future__ import annotations

from hams.engines.text.llm.answers import parse_content
from hams.engines.text.llm.budget import split_text
from hams.engines.text.llm.engine import LlmEngine
from hams.engines.text.llm.prompts import INSTRUCTIONS, strip_markers
from hams.engines.text.llm.transport import RETRY_AFTER_CAP_SECONDS

__all__ = [
    "INSTRUCTIONS",
    "RETRY_AFTER_CAP_SECONDS",
    "LlmEngine",
    "parse_content",
    "split_text",
    "strip_markers",
]
