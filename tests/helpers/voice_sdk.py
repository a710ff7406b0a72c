"""Hamsa's own JavaScript SDK (`@hamsa-ai/voice-agents-sdk@0.3.1`, the version the npm registry
serves) driven from the tests: installed from npm once into a cache outside the repository, run
under Node by ``voice_sdk/driver.cjs`` (a script of steps in, one JSON record a line out), or
loaded by a page in Debian's chromium (``voice_sdk/page.html``; tests/e2e/test_voice_browser.py).

The driver records everything with a monotonic clock (``t`` in ms since it started), so the
same records serve the end-to-end tests and the latency benchmark (bench/agent_latency.py).
"""

from __future__ import annotations

import fcntl
import json
import mimetypes
import os
import shutil
import subprocess
import threading
import uuid
import wave
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.helpers.llm_server import (
    FakeLlmServer,
    LlmRequest,
    ScriptedResponse,
    completion,
    tool_call_completion,
)
from tests.helpers.wait import wait_until

SDK_PACKAGE = "@hamsa-ai/voice-agents-sdk"
SDK_VERSION = "0.3.1"
WS_VERSION = "8.23.1"
HERE = Path(__file__).resolve().parent / "voice_sdk"
DRIVER = HERE / "driver.cjs"
SAMPLE_RATE = 16_000


class NodeMissing(RuntimeError):
    """Node or npm is not installed here."""


def cache_root() -> Path:
    """Where installed npm packages are kept between runs (``HAMS_TEST_CACHE``, else
    ``~/.cache/hams-tests``): outside the repository."""
    base = os.environ.get("HAMS_TEST_CACHE") or Path.home() / ".cache" / "hams-tests"
    return Path(base) / "npm"


def sdk_dir() -> Path:
    return cache_root() / f"voice-agents-sdk-{SDK_VERSION}+ws-{WS_VERSION}"


def sdk_dist(folder: Path | None = None) -> Path:
    """The SDK's ``dist`` folder (index.cjs.js for Node, index.umd.js for a page)."""
    return (folder or sdk_dir()) / "node_modules" / "@hamsa-ai" / "voice-agents-sdk" / "dist"


def install_sdk() -> Path:
    """Install the SDK and ``ws`` from the npm registry into the cache once and return the folder
    holding their ``node_modules``. Parallel runs wait on a file lock; a half-done install is
    never used (it is built beside the cache and renamed into place).
    Raises NodeMissing when node or npm is absent."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        raise NodeMissing("node and npm are needed to run @hamsa-ai/voice-agents-sdk "
                          "(Debian: apt-get install nodejs npm)")
    target = sdk_dir()
    done = target / ".installed"
    if done.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f"{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.is_file():
            return target
        building = target.with_name(f"{target.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        (building / "package.json").write_text(json.dumps({"private": True}))
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-package-lock",
             "--loglevel=error", f"{SDK_PACKAGE}@{SDK_VERSION}", f"ws@{WS_VERSION}"],
            cwd=building, capture_output=True, text=True, timeout=300)
        if result.returncode != 0 or not (sdk_dist(building) / "index.cjs.js").is_file():
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"npm install {SDK_PACKAGE}@{SDK_VERSION} ws@{WS_VERSION} "
                               f"failed:\n{result.stdout}\n{result.stderr}")
        (building / ".installed").write_text(f"{SDK_PACKAGE}@{SDK_VERSION} ws@{WS_VERSION}\n")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    return target


# --- audio ----------------------------------------------------------------------------------


def write_f32(samples: np.ndarray, path: Path) -> Path:
    """16 kHz mono samples as raw float32 little-endian: what the driver sends as they are."""
    path.write_bytes(np.asarray(samples, dtype="<f4").tobytes())
    return path


def read_wav_pcm16(path: Path) -> np.ndarray:
    """A PCM16 WAV (the driver's ``saveAudio``) as float32 samples in [-1, 1)."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, path
        data = wav.readframes(wav.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


# --- the LLM stand-in, answering by what it is asked ---------------------------------------


def text_answer(text: str) -> dict:
    """The LLM's answer ``text`` (the stand-in streams it when the request says ``stream``)."""
    return completion(text, FakeLlmServer.DEFAULT_USAGE)


def tool_answer(name: str, arguments: dict, call_id: str = "call_test_1") -> dict:
    """The LLM calls the function ``name`` with ``arguments``."""
    return tool_call_completion(name, arguments, call_id)


class StreamingLlm(FakeLlmServer):
    """The local OpenAI-compatible LLM stand-in (tests/helpers/llm_server.py), answering a
    conversation's streamed requests with what ``respond(request)`` returns (``text_answer`` /
    ``tool_answer``, streamed as server-sent events) after ``delay`` seconds; requests without
    ``stream`` (the analysis after the call) get the stand-in's default answer. Scripted
    responses queued with ``enqueue`` still come first."""

    def __init__(self, respond: Callable[[LlmRequest], dict], *, delay: float = 0.0) -> None:
        super().__init__()
        self.respond = respond
        self.delay = delay

    def default_answer(self, request: LlmRequest) -> ScriptedResponse:
        if isinstance(request.body, dict) and request.body.get("stream"):
            return ScriptedResponse(body=self.respond(request), delay=self.delay)
        return super().default_answer(request)

    def streamed(self) -> list[LlmRequest]:
        """The conversation's own requests (streamed), in order."""
        return [r for r in self.requests
                if isinstance(r.body, dict) and r.body.get("stream")]


# --- the server side of a test ------------------------------------------------------------


def create_agent(client: httpx.Client, llm_base_url: str, **fields: Any) -> str:
    """A voice agent (POST /v1/voice-agents) talking to the LLM at ``llm_base_url``; its id.
    ``fields`` are v1 agent fields (greetingMessage, preamble, lang, interrupt, webhookUrl...)."""
    body = {"agentName": f"Voice SDK test {uuid.uuid4().hex[:8]}", "lang": "en",
            "llmConfig": {"baseUrl": llm_base_url, "modelName": "test-model"}, **fields}
    response = client.post("/v1/voice-agents", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["id"]


def get_conversation(client: httpx.Client, job_id: str) -> dict:
    """GET /v1/voice-agents/conversation/{id}?jobId= as the SDK asks; its ``data``."""
    response = client.get(f"/v1/voice-agents/conversation/{job_id}", params={"jobId": job_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def finished_conversation(client: httpx.Client, job_id: str, timeout: float = 60) -> dict:
    """The conversation once it has ended and its analysis is written."""
    def finished() -> dict | None:
        record = get_conversation(client, job_id)
        done = record["status"] not in ("PENDING", "IN_PROGRESS")
        return record if done and record.get("callAnalysis") is not None else None

    return wait_until(finished, timeout, what=lambda: f"conversation {job_id} to finish: "
                      f"{json.dumps(get_conversation(client, job_id))[:2000]}")


# --- the driver -----------------------------------------------------------------------------


class DriverError(AssertionError):
    """A step failed in the driver (its error and the records so far are in the message)."""


@dataclass
class Records:
    """The driver's records in order, shared with the thread that reads them."""

    items: list[dict] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def named(self, name: str) -> list[dict]:
        with self.cond:
            return [r for r in self.items if r["name"] == name]

    def first(self, name: str) -> dict | None:
        found = self.named(name)
        return found[0] if found else None


class NodeConversation:
    """One `node driver.cjs` process holding one SDK conversation, steered step by step.

    ``step("start", agentId=...)`` sends a step and waits for its ``step:done`` record (raising
    DriverError when it failed); ``send_step`` does not wait; ``wait(name, ...)`` waits on the
    records from Python (e.g. for ``recv:answer`` while the driver sends audio)."""

    def __init__(self, base_url: str, api_key: str, *, ws_url: str | None = None,
                 folder: Path | None = None, env: dict[str, str] | None = None) -> None:
        folder = folder or install_sdk()
        config = {"sdkDir": str(folder), "apiUrl": base_url, "apiKey": api_key,
                  "wsUrl": ws_url or base_url.replace("http", "ws", 1) + "/stream"}
        self.records = Records()
        self.stderr: list[str] = []
        self._steps = 0
        self.process = subprocess.Popen(
            ["node", str(DRIVER), json.dumps(config)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, **(env or {})})
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    # reading
    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                record = {"t": None, "name": "driver:stdout", "text": line.rstrip()}
            with self.records.cond:
                self.records.items.append(record)
                self.records.cond.notify_all()
        with self.records.cond:
            self.records.items.append({"t": None, "name": "driver:exit"})
            self.records.cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line.rstrip())

    # steering
    def send_step(self, do: str, **fields: Any) -> int:
        """Send one step; its index (the ``index`` of its ``step:done`` record)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"do": do, **fields}) + "\n")
        self.process.stdin.flush()
        self._steps += 1
        return self._steps - 1

    def step(self, do: str, timeout: float = 60, **fields: Any) -> dict:
        """Send a step and wait until it is done; its ``step:done`` record. ``timeout`` (seconds)
        is also the step's own limit in the driver (its ``timeout`` field, in ms)."""
        index = self.send_step(do, **{"timeout": round(timeout * 1000), **fields})
        done = self.wait("step:done", timeout + 10, lambda r: r.get("index") == index)
        if not done.get("ok"):
            raise DriverError(f"step {do} failed: {done.get('error')}\n{self.describe()}")
        return done

    def wait(self, name: str, timeout: float,
             where: Callable[[dict], bool] | None = None, *, after: int = 0) -> dict:
        """The first record named ``name`` (from position ``after`` on) that ``where`` accepts;
        fails with the records so far when none comes within ``timeout`` seconds or the driver
        exits first."""
        def found() -> dict | None:
            for record in self.records.items[after:]:
                if record["name"] == name and (where is None or where(record)):
                    return record
            return None

        with self.records.cond:
            answer = self.records.cond.wait_for(
                lambda: found() or self.records.items[-1:] == [{"t": None, "name": "driver:exit"}],
                timeout)
            record = found()
        if not record:
            state = "the driver exited" if answer else f"{timeout}s passed"
            raise DriverError(f"no {name} record ({state})\n{self.describe()}")
        return record

    def position(self) -> int:
        """How many records have arrived (for ``wait(..., after=...)``)."""
        with self.records.cond:
            return len(self.records.items)

    def named(self, name: str) -> list[dict]:
        return self.records.named(name)

    def describe(self, last: int = 60) -> str:
        """The last records (media frames folded into counts) and the driver's stderr."""
        with self.records.cond:
            items = list(self.records.items)
        lines: list[str] = []
        media = 0
        for record in items:
            if record["name"] == "recv:media":
                media += 1
                continue
            if media:
                lines.append(f"  ... {media} recv:media frames")
                media = 0
            lines.append("  " + json.dumps(record, ensure_ascii=False)[:400])
        if media:
            lines.append(f"  ... {media} recv:media frames")
        tail = "\n".join(self.stderr[-20:])
        return "driver records:\n" + "\n".join(lines[-last:]) + f"\ndriver stderr:\n{tail}"

    def close(self, timeout: float = 30) -> int:
        """No more steps: the driver ends the call if still live and exits; its exit status."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"do": "exit"}) + "\n")
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for thread in self._threads:
            thread.join(5)
        return self.process.returncode

    def __enter__(self) -> NodeConversation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class DriverRun:
    records: list[dict]
    returncode: int
    stderr: list[str]

    def named(self, name: str) -> list[dict]:
        return [r for r in self.records if r["name"] == name]


def run_node_conversation(base_url: str, api_key: str, steps: Iterable[dict], *,
                          timeout: float = 300, ws_url: str | None = None,
                          folder: Path | None = None) -> DriverRun:
    """Run a whole script of steps (``{"do": ..., ...}``, see driver.cjs) through the SDK and
    return every record; the driver exits 2 when a step failed (its record says which)."""
    conversation = NodeConversation(base_url, api_key, ws_url=ws_url, folder=folder)
    assert conversation.process.stdin is not None
    for step in steps:
        conversation.process.stdin.write(json.dumps(step) + "\n")
    conversation.process.stdin.flush()
    code = conversation.close(timeout)
    return DriverRun(list(conversation.records.items), code, conversation.stderr)


# --- the page, for a real browser ------------------------------------------------------------


class PageServer:
    """Serves voice_sdk/page.html at ``/`` and the SDK's ``dist`` folder (its browser bundle
    index.umd.js) at ``/sdk/``, on 127.0.0.1: the page's own origin, as a site using the SDK
    would have."""

    def __init__(self, folder: Path | None = None) -> None:
        dist = sdk_dist(folder or install_sdk())
        files = {"/": HERE / "page.html", "/page.html": HERE / "page.html"}
        files.update({f"/sdk/{p.name}": p for p in dist.iterdir() if p.is_file()})
        self.hits: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                owner.hits.append(path)
                file = files.get(path)
                body = file.read_bytes() if file else b"not found"
                kind = (mimetypes.guess_type(file.name)[0] if file else None) or "text/plain"
                self.send_response(200 if file else 404)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> PageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
