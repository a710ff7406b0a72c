"""A real browser: Debian's chromium, headless, with a fake microphone playing a WAV of real
(Piper) speech, opens a page on its own origin that loads the SDK's browser bundle
(`dist/index.umd.js` of `@hamsa-ai/voice-agents-sdk@0.3.1` from npm, served as it is) and talks
to an agent on the real `hams serve`: the agent greets, hears, answers. Driven with Playwright
for Python against /usr/bin/chromium (never a downloaded browser). The LLM is the local
OpenAI-compatible stand-in.

Chromium's flags: --use-fake-ui-for-media-stream (grant the microphone),
--use-fake-device-for-media-stream with --use-file-for-fake-audio-capture=<PCM16 WAV>%noloop
(the file is the microphone; `%noloop` plays it once then silence, checked on chromium 156:
without it the file loops), --autoplay-policy=no-user-gesture-required (the SDK's AudioContexts
run without a click). The SDK asks getUserMedia for echoCancellation and noiseSuppression, as
on a real page: the speech passes through WebRTC's processing, then the SDK's 16 kHz recorder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.llm_server import LlmRequest
from tests.helpers.speech import normalize_words, speech_samples, synthesize_speech, wav_bytes
from tests.helpers.voice_sdk import (
    NodeMissing,
    PageServer,
    StreamingLlm,
    create_agent,
    finished_conversation,
    install_sdk,
    silence,
    text_answer,
)

CHROMIUM = "/usr/bin/chromium"
GREETING = "Hello, this is the hams browser desk."
ASKED = "Please tell me when the city library opens tomorrow morning."
ANSWER = "The city library opens at nine in the morning."
WAIT_MS = 120_000


def needed(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="module")
def sdk_folder() -> Path:
    if not Path(CHROMIUM).is_file():
        needed(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
    try:
        return install_sdk()
    except NodeMissing as exc:
        needed(str(exc))
        raise


@pytest.fixture(scope="module")
def llm():
    def answer(request: LlmRequest) -> dict:
        return text_answer(ANSWER)

    with StreamingLlm(answer) as server:
        yield server


@pytest.fixture(scope="module")
def microphone(tmp_path_factory) -> Path:
    """What the fake microphone plays, once: 8 s of silence (the greeting is heard out), the
    question, then silence (the end of the turn)."""
    folder = tmp_path_factory.mktemp("browser")
    speech = speech_samples(synthesize_speech([ASKED], folder / "asked.wav"))
    path = folder / "microphone.wav"
    path.write_bytes(wav_bytes(np.concatenate([silence(8), speech, silence(12)])))
    return path


def events_named(page, name: str) -> list[dict]:
    return page.evaluate("name => window.events.filter(e => e.name === name)", name)


def wait_event(page, name: str, console: list[str], *, text: str | None = None,
               after_t: float = -1) -> dict:
    """The first page event ``name`` (with ``text``, after time ``after_t``), or a failure
    naming everything the page saw."""
    try:
        page.wait_for_function(
            "([name, text, after]) => window.events.some(e => e.name === name && e.t > after"
            " && (text === null || e.text === text))", arg=[name, text, after_t], timeout=WAIT_MS)
    except Exception as exc:  # noqa: BLE001 - the page's whole story is the useful message
        seen = [e for e in page.evaluate("window.events") if e["name"] != "recv:media"]
        raise AssertionError(f"no {name} in the page ({exc}):\nevents: "
                             f"{json.dumps(seen, ensure_ascii=False)[:6000]}\n"
                             f"console: {console[-20:]}") from None
    return next(e for e in events_named(page, name)
                if e["t"] > after_t and (text is None or e["text"] == text))


def test_a_page_in_chromium_talks_to_an_agent(server, llm, sdk_folder, microphone):
    from playwright.sync_api import sync_playwright

    with server.client() as client:
        agent_id = create_agent(client, llm.base_url, greetingMessage=GREETING,
                                greetingMessageType="STATIC",
                                preamble="You are the help desk of the city library.")
    console: list[str] = []
    with PageServer(sdk_folder) as pages, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={microphone}%noloop",
                  "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page()
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.goto(pages.url)
            assert "/sdk/index.umd.js" in pages.hits
            job_id = page.evaluate("options => startConversation(options)", {
                "apiUrl": server.base_url, "apiKey": server.key, "agentId": agent_id,
                "wsUrl": server.base_url.replace("http://", "ws://") + "/stream"})
            assert job_id, (f"conversation-init failed in the page: "
                            f"{page.evaluate('window.events')}\nconsole: {console}")

            greeting = wait_event(page, "sdk:answerReceived", console, text=GREETING)
            wait_event(page, "recv:media", console, after_t=greeting["t"])
            heard = wait_event(page, "sdk:transcriptionReceived", console)
            answer = wait_event(page, "sdk:answerReceived", console, text=ANSWER,
                                after_t=heard["t"])
            wait_event(page, "recv:media", console, after_t=answer["t"])
            if events_named(page, "recv:mark"):  # the SDK's player echoes marks once played
                wait_event(page, "send:mark", console, after_t=answer["t"])
            page.evaluate("endConversation()")
            page.wait_for_function("window.events.some(e => e.name === 'socket:close')",
                                   timeout=20_000)
            counts = page.evaluate("window.counts")
            errors = events_named(page, "sdk:error")
        finally:
            browser.close()

    said = set(normalize_words(ASKED).split())
    got = set(normalize_words(heard["text"]).split())
    assert len(said & got) / len(said) >= 0.6, heard
    assert counts["sentMedia"] > 125 * 10, counts  # the SDK's recorder: 125 frames a second
    assert counts["recvMedia"] > 0 and counts["recvMediaBytes"] > 16_000 * 2, counts
    assert not errors, (errors, console)

    with server.client() as client:
        record = finished_conversation(client, job_id)
    assert record["status"] == "COMPLETED", record
    turns = [log["payload"] for log in record["logs"] if log["payload"].get("kind") == "turn"]
    assert [t["text"] for t in turns if t["role"] == "agent"][:2] == [GREETING, ANSWER], turns

