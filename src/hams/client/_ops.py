"""What every method is made of, shared by both clients.

A method is a generator: it yields the :class:`ApiRequest` (or :class:`Sleep`) it needs and
receives the ``httpx.Response``; it never does I/O. ``@operation`` turns it into a client
method that hands the generator to ``self._run``: :class:`~hams.client.Hams` runs it to its
value, :class:`~hams.client.AsyncHams` returns a coroutine that does. So every method, and
every multi-step flow (upload → create → wait, written with ``yield from``), exists once.
"""

from __future__ import annotations

import base64
import errno
import functools
import inspect
import os
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from hams.client._http import ApiRequest, Config, Sleep
from hams.client.errors import HamsError, error_for
from hams.client.models import Job

T = TypeVar("T")
Op = Generator[ApiRequest | Sleep, Any, T]
PollCallback = Callable[[Job], Any]
WebhookAuth = Mapping[str, str] | tuple[str, str]
AudioInput = bytes | str | os.PathLike | Sequence[float]


def operation(fn: Callable[..., Op[T]]) -> Callable[..., T]:
    """A generator method as a client method: run now (Hams) or awaited (AsyncHams)."""

    @functools.wraps(fn)
    def method(self: ClientBase, *args: Any, **kwargs: Any) -> Any:
        return self._run(fn(self, *args, **kwargs))

    # help() and editors show what the method gives back, not the generator's type
    signature = inspect.signature(fn)
    returned = signature.return_annotation
    if isinstance(returned, str) and returned.startswith(("Op[", "WsOp[")):
        method.__signature__ = signature.replace(  # type: ignore[attr-defined]
            return_annotation=returned[returned.index("[") + 1:-1])
    return method


def run_sync(op: Generator[Any, Any, T], execute: Callable[[Any], Any]) -> T:
    """Drive an operation: execute what it yields, send back the answers; a HamsError is
    thrown into it, so a step can translate or handle it."""
    value: Any = None
    error: HamsError | None = None
    while True:
        try:
            command = op.throw(error) if error is not None else op.send(value)
        except StopIteration as stop:
            return stop.value
        except ValidationError as exc:
            raise unexpected_answer(exc) from exc
        value, error = None, None
        try:
            value = execute(command)
        except HamsError as exc:
            error = exc


async def run_async(op: Generator[Any, Any, T],
                    execute: Callable[[Any], Awaitable[Any]]) -> T:
    """:func:`run_sync` for the async clients: the same operation, awaited steps."""
    value: Any = None
    error: HamsError | None = None
    while True:
        try:
            command = op.throw(error) if error is not None else op.send(value)
        except StopIteration as stop:
            return stop.value
        except ValidationError as exc:
            raise unexpected_answer(exc) from exc
        value, error = None, None
        try:
            value = await execute(command)
        except HamsError as exc:
            error = exc


def unexpected_answer(exc: ValidationError) -> HamsError:
    """A server answer the models cannot read (another server behind the URL, a newer wire):
    a HamsError like any other, not pydantic's exception."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    return HamsError(f"The server's answer is not what the SDK expects ({where}: "
                     f"{first['msg']})", message_key="INVALID_RESPONSE")


class ClientBase:
    """What the method mixins need from a client: its configuration and an executor."""

    _config: Config

    def _run(self, op: Op[T]) -> Any:  # pragma: no cover - each client defines it
        raise NotImplementedError

    # defined by JobMethods, used by SpeechMethods too
    def _created(self, data: dict[str, Any], wait: bool, timeout: float | None,
                 on_poll: PollCallback | None) -> Op[Job]:  # pragma: no cover
        raise NotImplementedError


# --- request bodies shared by REST and the WebSocket -------------------------------------------


def tts_request(text: str, *, speaker: str | None, dialect: str | None, mulaw: bool,
                sample_rate: int | str | None,
                voice_dictionary_ids: Sequence[str] | None, stream: bool = False
                ) -> ApiRequest:
    """``POST /v1/realtime/tts`` or ``tts-stream``; shared by the streaming methods."""
    return ApiRequest("POST", "/v1/realtime/tts-stream" if stream else "/v1/realtime/tts",
                      idempotent=True, json=tts_payload(
                          text, speaker=speaker, dialect=dialect, mulaw=mulaw,
                          sample_rate=sample_rate, voice_dictionary_ids=voice_dictionary_ids))


def tts_payload(text: str, *, speaker: str | None = None, dialect: str | None = None,
                mulaw: bool = False, sample_rate: int | str | None = None,
                voice_dictionary_ids: Sequence[str] | None = None, **extra: Any
                ) -> dict[str, Any]:
    """The realtime TTS body (REST and WebSocket); hams needs a speaker or a dialect, so
    neither given means Modern Standard Arabic's default voice."""
    rate = {8000: "8k", 16000: "16k"}.get(sample_rate, sample_rate)  # type: ignore[call-overload]
    return body_of(text=text, speaker=speaker,
                 dialect=dialect or (None if speaker else "msa"), mulaw=mulaw or None,
                 sampleRate=rate, voiceDictionaryIds=as_list(voice_dictionary_ids), **extra)


def stt_payload(audio: AudioInput, *, language: str, eos: bool, eos_threshold: float | None,
                model: str | None) -> dict[str, Any]:
    """The realtime STT body (REST and WebSocket): ``audioBase64`` or ``audioList``."""
    if isinstance(audio, bytes | bytearray | memoryview):
        source: dict[str, Any] = {"audioBase64": base64.b64encode(audio).decode()}
    elif isinstance(audio, str | os.PathLike):
        data = local_file(audio).read_bytes()
        source = {"audioBase64": base64.b64encode(data).decode()}
    else:
        samples = audio.tolist() if hasattr(audio, "tolist") else list(audio)
        source = {"audioList": [float(s) for s in samples]}
    return {**source, **body_of(language=language, isEosEnabled=eos or None,
                              eosThreshold=eos_threshold, model=model)}


# --- small helpers ----------------------------------------------------------------------------


def json_body(response: httpx.Response) -> Any:
    """The decoded body; a 2xx answer that says ``success: false`` is an error too."""
    try:
        body = response.json()
    except ValueError as exc:
        raise HamsError(f"Expected JSON from {response.request.url}, got "
                        f"{response.headers.get('content-type', 'no content type')}",
                        status_code=response.status_code, message_key="INVALID_RESPONSE",
                        body=response.text[:500]) from exc
    if isinstance(body, dict) and body.get("success") is False:
        raise error_for(str(body.get("message") or "The server reported a failure"),
                        status_code=response.status_code, message_key=body.get("messageKey"),
                        body=body)
    return body


def data_of(response: httpx.Response) -> Any:
    body = json_body(response)
    return body.get("data", body) if isinstance(body, dict) else body


def body_of(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left unset (the server's defaults apply)."""
    return {k: v for k, v in fields.items() if v is not None}


def as_list(values: Sequence[str] | None) -> list[str] | None:
    return list(values) if values is not None else None


def part_names(parts: str | Sequence[str]) -> list[str]:
    """``"summary,keywords"`` or ``["summary", "keywords"]``."""
    if isinstance(parts, str):
        return [p.strip() for p in parts.split(",") if p.strip()]
    return list(parts)


def camel_keys(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """srtOptions by their Hamsa names or in snake_case (``max_chars_per_line``)."""
    return None if options is None else {to_camel(k): v for k, v in options.items()}


def webhook_auth_body(auth: WebhookAuth | None) -> dict[str, str] | None:
    """``(key, secret)`` or ``{"authKey": ..., "authSecret": ...}``; sent by the server as
    ``Authorization: <authKey> <authSecret>``."""
    if auth is None:
        return None
    if isinstance(auth, tuple):
        return {"authKey": auth[0], "authSecret": auth[1]}
    return {to_camel(k): v for k, v in auth.items()}


def segment(value: str) -> str:
    return quote(str(value), safe="")


def local_file(path: str | os.PathLike) -> Path:
    """The file to send; FileNotFoundError before any request when it is not there."""
    found = Path(os.fspath(path)).expanduser()
    if not found.is_file():
        raise FileNotFoundError(errno.ENOENT, "No such file", str(path))
    return found
