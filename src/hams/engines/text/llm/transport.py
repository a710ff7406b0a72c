"""One job's chat requests: POST to the endpoint with jittered exponential backoff on 429, 5xx,
timeouts and lost connections, errors mapped onto hams' own, and token usage summed.

Its own module because retries and failure mapping are the same for every request, whatever
the prompt, and are tested against a real HTTP server.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from hams.engines.text.llm.answers import excerpt, parse_content
from hams.errors import ContentGenerationFailed, ServiceUnavailable

logger = logging.getLogger(__name__)

# The longest Retry-After waited for in-process. A server asking for longer gets no more
# requests from this job: ServiceUnavailable at once, and the worker retries the job later.
RETRY_AFTER_CAP_SECONDS = 30.0
RETRY_JITTER = 0.25  # each wait is lengthened by a random 0-25 %, so threads do not retry in step


@dataclass(frozen=True)
class ChatEndpoint:
    """Where a job's chat requests go and what each one carries besides its messages:
    everything the requests need from the engine, handed over so they never read the engine."""

    url: str  # the chat completions URL requests are posted to
    shown_url: str  # the same without any user:password it may carry, for messages
    model: str
    temperature: float
    json_mode: bool  # ask for a JSON object (response_format)

    def body(self, messages: list[dict]) -> dict[str, Any]:
        """The JSON body of one chat request."""
        body: dict[str, Any] = {"model": self.model, "messages": messages,
                                "temperature": self.temperature}
        if self.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body


class ChatCalls:
    """One job's chat requests through one client, with retries and summed token usage."""

    def __init__(self, endpoint: ChatEndpoint, client: httpx.Client, *, max_retries: int,
                 retry_base_seconds: float):
        self.endpoint = endpoint
        self.client = client
        self.max_retries = max_retries
        self.retry_base_seconds = retry_base_seconds
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None

    def ask(self, part: str, messages: list[dict]) -> str:
        """The text the model wrote for ``part``, checked against the JSON contract."""
        response = self._post(self.endpoint.body(messages))
        try:
            data = response.json()
        except ValueError as exc:
            raise ContentGenerationFailed(
                f"the LLM endpoint answered '{part}' with something other than JSON: "
                f"{excerpt(response.text)}") from exc
        self._count_usage(data)
        try:
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ContentGenerationFailed(
                f"the LLM endpoint's answer for '{part}' is not a chat completion: "
                f"{excerpt(response.text)}") from exc
        if not isinstance(content, str):
            raise ContentGenerationFailed(
                f"the model's answer for '{part}' has no text: {excerpt(json.dumps(content))}")
        truncated = isinstance(choice, dict) and choice.get("finish_reason") == "length"
        return parse_content(content, part, truncated=truncated)

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST with retries on the failures that may pass: 429, 5xx, timeouts, lost
        connections.

        Waits ``retry_base_seconds * 2**attempt``, or the server's Retry-After, lengthened by a
        random 0-25 %. A Retry-After over RETRY_AFTER_CAP_SECONDS is not waited for:
        ServiceUnavailable at once, so the worker retries the whole job later.
        """
        endpoint = self.endpoint
        last = ""
        for attempt in range(self.max_retries + 1):
            delay: float | None = None
            try:
                response = self.client.post(endpoint.url, json=body)
            except httpx.TransportError as exc:  # timeouts, refused and dropped connections
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                status = response.status_code
                if status < 300:
                    return response
                if status != 429 and status < 500:
                    raise ContentGenerationFailed(
                        f"the LLM endpoint {endpoint.shown_url} refused the request with HTTP "
                        f"{status}: {excerpt(response.text)}",
                        message_key="LLM_REQUEST_REFUSED")
                last = f"HTTP {status}"
                delay = _retry_after(response)
                if delay is not None and delay > RETRY_AFTER_CAP_SECONDS:
                    raise ServiceUnavailable(
                        f"the LLM endpoint {endpoint.shown_url} answered HTTP {status} and asked "
                        f"to wait {delay:.0f} s (Retry-After), longer than the "
                        f"{RETRY_AFTER_CAP_SECONDS:.0f} s waited in-process; the job will be "
                        "retried later", message_key="LLM_UNAVAILABLE")
            if attempt == self.max_retries:
                break
            if delay is None:
                delay = self.retry_base_seconds * 2 ** attempt
            delay *= 1 + random.uniform(0, RETRY_JITTER)
            logger.warning("LLM request to %s failed (%s); retry %d of %d in %.1f s",
                           endpoint.shown_url, last, attempt + 1, self.max_retries, delay)
            time.sleep(delay)
        raise ServiceUnavailable(
            f"the LLM endpoint {endpoint.shown_url} is unavailable after "
            f"{self.max_retries + 1} attempts; last: {last}",
            message_key="LLM_UNAVAILABLE")

    def _count_usage(self, data: Any) -> None:
        usage = data.get("usage") if isinstance(data, dict) else None
        if not isinstance(usage, dict):
            return
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if isinstance(prompt, int):
            self.prompt_tokens = (self.prompt_tokens or 0) + prompt
        if isinstance(completion, int):
            self.completion_tokens = (self.completion_tokens or 0) + completion


def _retry_after(response: httpx.Response) -> float | None:
    """The server's Retry-After in seconds (at least 0); None when absent, a date or
    unreadable."""
    try:
        seconds = float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None
    if math.isnan(seconds):
        return None
    return max(seconds, 0.0)
