"""The client commands of `hams` through the installed entry point, against the real server:
transcribe to text, SRT and JSON; tts to WAV; jobs; content; and the exit codes scripts rely on."""

from __future__ import annotations

import io
import json
import os
import subprocess
import wave

import pytest

from tests.helpers.server import HAMS
from tests.helpers.speech import SPEECH_SENTENCES, word_error_rate
from tests.helpers.speech import normalize_words as words

EXIT_FAILED, EXIT_USAGE, EXIT_AUTH = 1, 2, 3


def hams(server, *args: str, key: str | None = None, stdin: str | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `hams ARGS` as a user would: key and URL from the environment, no terminal."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HAMS_")}
    environ.update({"HAMS_BASE_URL": server.base_url, "HAMS_API_KEY": key or server.key})
    environ.update(env or {})
    return subprocess.run([HAMS, *args], env=environ, input=stdin, capture_output=True,
                          text=True, timeout=180)


@pytest.fixture(scope="module")
def transcribed(server, speech, tmp_path_factory):
    """One `hams transcribe FILE --srt PATH --json` run, shared by the tests that read it."""
    srt = tmp_path_factory.mktemp("cli") / "speech.srt"
    done = hams(server, "transcribe", str(speech), "--language", "en", "--srt", str(srt),
                "--json", "--title", "cli test")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), srt


def test_transcribe_writes_srt_and_prints_the_job_as_json(transcribed):
    job, srt = transcribed
    assert job["status"] == "COMPLETED" and job["type"] == "TRANSCRIPTION"
    assert job["title"] == "cli test"
    text = job["jobResponse"]["text"]
    assert word_error_rate(" ".join(SPEECH_SENTENCES), text) < 0.3
    subtitles = srt.read_text(encoding="utf-8")
    assert subtitles.startswith("1\n00:00:") and " --> " in subtitles
    assert subtitles == job["jobResponse"]["srt"]


def test_transcribe_prints_plain_text_and_progress_goes_to_stderr(server, speech):
    # FORCE_COLOR makes rich treat stderr as a terminal, so the progress display is on
    done = hams(server, "transcribe", str(speech), "--language", "en",
                env={"FORCE_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    assert "uploading" in done.stderr and "transcribing" in done.stderr
    assert word_error_rate(" ".join(SPEECH_SENTENCES), done.stdout) < 0.3
    assert done.stdout.count("\n") == 1 and "\x1b" not in done.stdout  # the text alone


def test_transcribe_no_wait_prints_the_job_id_at_once(server, speech):
    done = hams(server, "transcribe", str(speech), "--language", "en", "--no-wait")
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    with server.client() as client:
        assert client.get("/v1/jobs", params={"jobId": job_id}).json()["data"]["id"] == job_id


def test_no_wait_json_then_get_wait(server, speech):
    queued = hams(server, "transcribe", str(speech), "--language", "en", "--no-wait", "--json")
    assert queued.returncode == 0, queued.stderr
    job = json.loads(queued.stdout)
    assert job["type"] == "TRANSCRIPTION" and job["id"]
    waited = hams(server, "jobs", "get", job["id"], "--wait", "--json")
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["status"] == "COMPLETED"


def test_wait_timeout_then_cancel(server, media_server):
    gate = media_server.gate("cli-held.wav")  # the worker's fetch blocks: the job stays pending
    media_server.add_file("cli-held.wav", b"RIFF")
    try:
        queued = hams(server, "transcribe", media_server.url("cli-held.wav"), "--language",
                      "en", "--no-wait")
        job_id = queued.stdout.strip()
        timed_out = hams(server, "jobs", "get", job_id, "--wait", "--timeout", "1")
        assert timed_out.returncode == EXIT_FAILED and job_id in timed_out.stderr
        cancelled = hams(server, "jobs", "cancel", job_id)
        assert cancelled.returncode == 0 and f"cancelled {job_id}" in cancelled.stderr
    finally:
        gate.set()
    with server.client() as client:
        assert client.get("/v1/jobs", params={"jobId": job_id}).json()["data"]["state"] == (
            "cancelled")


def test_voices_as_a_table_and_as_json(server):
    table = hams(server, "voices", "--dialect", "en")
    assert table.returncode == 0 and "Emma" in table.stdout and "DIALECT" in table.stdout
    listed = json.loads(hams(server, "voices", "--dialect", "en", "--json").stdout)
    assert listed and all(voice["dialectCode"] == "en" for voice in listed)


def test_tts_writes_a_wav(server, tmp_path):
    out = tmp_path / "hello.wav"
    done = hams(server, "tts", "Hello from the command line.", "--voice", "Emma",
                "--dialect", "en", "-o", str(out))
    assert done.returncode == 0, done.stderr
    with wave.open(io.BytesIO(out.read_bytes())) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16_000, 1, 2)
        assert 0.5 < wav.getnframes() / 16_000 < 10


def test_tts_reads_arabic_text_from_stdin(server, tmp_path):
    out = tmp_path / "marhaba.wav"
    done = hams(server, "tts", "-", "--voice", "Salma", "-o", str(out), "--json",
                stdin="مرحبا بكم في هامس.")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["bytes"] == out.stat().st_size > 44


def test_jobs_list_get_and_cancel(server, transcribed):
    job, _ = transcribed
    listing = hams(server, "jobs", "list", "--json", "--per-page", "100")
    assert listing.returncode == 0, listing.stderr
    assert job["id"] in [item["id"] for item in json.loads(listing.stdout)["jobs"]]
    table = hams(server, "jobs", "list", "--type", "TRANSCRIPTION", "--per-page", "100")
    assert table.returncode == 0 and "cli test" in table.stdout and "STATUS" in table.stdout

    shown = hams(server, "jobs", "get", job["id"])
    assert shown.returncode == 0 and "COMPLETED" in shown.stdout

    finished = hams(server, "jobs", "cancel", job["id"])  # a finished job cannot be cancelled
    assert finished.returncode == EXIT_FAILED and "error:" in finished.stderr


def test_content_prints_the_requested_parts(server, transcribed):
    job, _ = transcribed
    done = hams(server, "content", job["id"], "--parts", "summary,keywords")
    assert done.returncode == 0, done.stderr
    assert "## summary" in done.stdout and "## keywords" in done.stdout
    summary = done.stdout.split("## summary")[1].split("## keywords")[0]
    assert words(summary) and set(words(summary).split()) <= set(
        words(job["jobResponse"]["text"]).split())  # extractive: the transcript's own words


def test_content_needing_an_llm_fails_with_the_message_key(server, transcribed):
    job, _ = transcribed
    done = hams(server, "content", job["id"], "--parts", "faq")
    assert done.returncode == EXIT_FAILED
    assert "HAMS_LLM_BASE_URL_REQUIRED" in done.stderr


def test_bad_key_exits_with_the_auth_code(server, speech):
    done = hams(server, "transcribe", str(speech), key="hams_not_a_key")
    assert done.returncode == EXIT_AUTH
    assert "api key" in done.stderr.lower() or "unauthorized" in done.stderr.lower()
    listing = hams(server, "jobs", "list", key="hams_not_a_key")
    assert listing.returncode == EXIT_AUTH


def test_missing_key_exits_with_the_auth_code(server):
    done = hams(server, "jobs", "list", env={"HAMS_API_KEY": ""})
    assert done.returncode == EXIT_AUTH and "HAMS_API_KEY" in done.stderr


def test_missing_file_and_bad_arguments_are_usage_errors(server, tmp_path):
    missing = hams(server, "transcribe", str(tmp_path / "nope.wav"))
    assert missing.returncode == EXIT_USAGE and "nope.wav" in missing.stderr
    bad_language = hams(server, "transcribe", "https://example.com/a.mp3", "--language", "fr")
    assert bad_language.returncode == EXIT_USAGE
    no_output = hams(server, "tts", "hello")
    assert no_output.returncode == EXIT_USAGE
    missing_folder = hams(server, "tts", "hello", "-o", str(tmp_path / "nowhere" / "a.wav"))
    assert missing_folder.returncode == EXIT_USAGE and "nowhere" in missing_folder.stderr
    srt_without_wait = hams(server, "transcribe", "https://example.com/a.mp3", "--no-wait",
                            "--srt", str(tmp_path / "a.srt"))
    assert srt_without_wait.returncode == EXIT_USAGE and "--no-wait" in srt_without_wait.stderr


def test_audio_that_does_not_decode_fails_the_command(server, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 100)
    done = hams(server, "transcribe", str(junk), "--language", "en")
    assert done.returncode == EXIT_FAILED and "error:" in done.stderr
