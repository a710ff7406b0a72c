"""The client commands of `hams` through the installed entry point, against the real server:
transcribe to text, SRT and JSON; tts to WAV (long texts as a job); jobs; content; the exit
codes scripts rely on; and refusals that come before any upload."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import wave

import pytest

from tests.helpers.server import HAMS, free_port, start_server
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
    waited = hams(server, "jobs", "get", job["id"], "--wait", "--json")  # `get`: an alias
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["status"] == "COMPLETED"


def test_wait_timeout_then_cancel(server, media_server):
    gate = media_server.gate("cli-held.wav")  # the worker's fetch blocks: the job stays pending
    media_server.add_file("cli-held.wav", b"RIFF")
    try:
        queued = hams(server, "transcribe", media_server.url("cli-held.wav"), "--language",
                      "en", "--no-wait")
        job_id = queued.stdout.strip()
        timed_out = hams(server, "jobs", "show", job_id, "--wait", "--timeout", "1")
        assert timed_out.returncode == EXIT_FAILED
        assert f"`hams jobs show {job_id} --wait` waits again" in timed_out.stderr
        assert "wait_for_job" not in timed_out.stderr  # CLI words, not the SDK's
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

    shown = hams(server, "jobs", "show", job["id"])
    assert shown.returncode == 0 and "COMPLETED" in shown.stdout
    assert job["jobResponse"]["text"] in shown.stdout

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
    assert done.returncode == EXIT_AUTH
    assert "no API key: set HAMS_API_KEY or pass --api-key" in done.stderr
    assert "Hams(" not in done.stderr


def test_an_unreachable_server_is_named_and_nothing_is_uploaded(server, speech):
    url = f"http://127.0.0.1:{free_port()}"
    listing = hams(server, "jobs", "list", env={"HAMS_BASE_URL": url})
    assert listing.returncode == EXIT_FAILED
    assert f"error: could not connect to {url}: connection refused" in listing.stderr
    upload = hams(server, "transcribe", str(speech), env={"HAMS_BASE_URL": url,
                                                          "FORCE_COLOR": "1"})
    assert upload.returncode == EXIT_FAILED and f"could not connect to {url}" in upload.stderr
    assert "uploading" not in upload.stderr  # refused before the upload began


def uploads(server) -> int:
    return server.rows("SELECT count(*) FROM uploads")[0][0]


def test_what_the_server_would_refuse_is_refused_before_the_upload(server, speech):
    before = uploads(server)
    arabic = hams(server, "transcribe", str(speech), "--language", "ar")  # tiny.en: English only
    assert arabic.returncode == EXIT_FAILED and "UNSUPPORTED_LANGUAGE" in arabic.stderr
    assert "English-only" in arabic.stderr and "--language auto" in arabic.stderr
    model = hams(server, "transcribe", str(speech), "--model", "Whisper-Nope")
    assert model.returncode == EXIT_FAILED and "UNSUPPORTED_MODEL" in model.stderr
    bad_key = hams(server, "transcribe", str(speech), key="hams_not_a_key")
    assert bad_key.returncode == EXIT_AUTH
    assert uploads(server) == before  # none of the three sent the file


def test_transcribe_detects_the_language_unless_told(server, speech):
    shown = subprocess.run([HAMS, "transcribe", "--help"], capture_output=True, text=True)
    assert "(default: auto, detected by the server)" in " ".join(shown.stdout.split())
    done = hams(server, "transcribe", str(speech), "--json")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["jobResponse"]["language"] == "en"
    assert word_error_rate(" ".join(SPEECH_SENTENCES), job["jobResponse"]["text"]) < 0.3
    [(options,)] = server.rows("SELECT options FROM jobs WHERE id = ?", job["id"])
    assert json.loads(options)["detectLanguage"] is True  # sent as "auto"


def test_missing_file_and_bad_arguments_are_usage_errors(server, tmp_path):
    missing = hams(server, "transcribe", str(tmp_path / "nope.wav"))
    assert missing.returncode == EXIT_USAGE and "nope.wav" in missing.stderr
    (tmp_path / "empty.wav").write_bytes(b"")
    empty = hams(server, "transcribe", str(tmp_path / "empty.wav"))
    assert empty.returncode == EXIT_USAGE and "empty.wav is empty" in empty.stderr
    folder = hams(server, "transcribe", str(tmp_path))
    assert folder.returncode == EXIT_USAGE and "is not a file" in folder.stderr
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


@pytest.fixture(scope="module")
def short_realtime(tmp_path_factory):
    """A server whose realtime TTS takes at most 60 characters: longer texts need a job."""
    process = start_server(tmp_path_factory.mktemp("short-tts"), workers=1,
                           env={"HAMS_TTS_REALTIME_MAX_CHARS": "60"})
    yield process
    process.stop()


LONG_TEXT = ("Good morning. This text is longer than the realtime limit of this server, "
             "so the command line runs a speech job and downloads its audio.")


def wav_format(data: bytes) -> tuple[int, int, float]:
    """(format tag, sample rate, seconds) of a WAV, μ-law too (which `wave` cannot read)."""
    tag, _, rate, byte_rate = struct.unpack("<HHII", data[20:32])
    return tag, rate, (len(data) - data.index(b"data") - 8) / byte_rate


def test_tts_longer_than_the_realtime_limit_runs_a_job(short_realtime, tmp_path):
    out, phone = tmp_path / "long.wav", tmp_path / "phone.wav"
    done = hams(short_realtime, "tts", LONG_TEXT, "--dialect", "en", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "synthesizing it as job" in done.stderr
    tag, rate, seconds = wav_format(out.read_bytes())
    assert (tag, rate) == (1, 16_000) and 5 < seconds < 20
    jobs = short_realtime.rows("SELECT status, tts_voice_id FROM jobs WHERE type = 'TTS'")
    assert [status for status, _ in jobs] == ["COMPLETED"]
    with short_realtime.client() as client:  # the voice the realtime route picks for "en"
        realtime = client.post("/v1/realtime/tts", json={"text": "Hi.", "dialect": "en"})
    assert jobs[0][1] == realtime.headers["X-Voice-Id"]

    mulaw = hams(short_realtime, "tts", LONG_TEXT, "--dialect", "en", "--mulaw", "-o",
                 str(phone), "--json")
    assert mulaw.returncode == 0, mulaw.stderr
    assert json.loads(mulaw.stdout)["bytes"] == phone.stat().st_size
    tag, rate, phone_seconds = wav_format(phone.read_bytes())
    assert (tag, rate) == (7, 8_000) and abs(phone_seconds - seconds) < 0.1 * seconds
