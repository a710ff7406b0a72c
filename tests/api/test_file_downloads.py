"""Stored files sent through the API: streamed with one byte range when asked (local storage,
in process), or, with HAMS_S3_PRESIGNED_DOWNLOADS on a real SeaweedFS, a redirect to a
presigned URL the store answers; the signed link and the API key still decide who may."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from hams.runtime import Runtime
from hams.services.links import sign_file
from tests.conftest import built_runtime
from tests.factories import api_client

if TYPE_CHECKING:
    from tests.helpers.seaweedfs import SeaweedFS

DATA = bytes(range(200))
KEY = "jobs/j1/speech.wav"


@pytest.fixture
def local(sqlite_runtime: Runtime) -> Iterator[TestClient]:
    sqlite_runtime.storage.write_bytes(KEY, DATA)
    with api_client(sqlite_runtime) as client:
        yield client


def link(runtime: Runtime, key: str = KEY, **query: str) -> str:
    signed = sign_file(runtime.secret_key, key, 60)
    return signed + "".join(f"&{name}={value}" for name, value in query.items())


@pytest.mark.parametrize(("asked", "status", "body", "content_range"), [
    (None, 200, DATA, None),
    ("bytes=2-5", 206, DATA[2:6], "bytes 2-5/200"),
    ("BYTES=2-5", 206, DATA[2:6], "bytes 2-5/200"),  # the unit is case-insensitive
    ("bytes=190-", 206, DATA[190:], "bytes 190-199/200"),
    ("bytes=-3", 206, DATA[-3:], "bytes 197-199/200"),
    ("bytes=150-900", 206, DATA[150:], "bytes 150-199/200"),
    ("bytes=0-1,5-6", 200, DATA, None),  # several ranges: the whole file (RFC 9110 allows)
    ("bytes=5-2", 200, DATA, None),  # unreadable: ignored
    ("bytes=200-", 416, b"", "bytes */200"),
])
def test_ranges_of_a_signed_file(local, sqlite_runtime, asked, status, body, content_range):
    answer = local.get(link(sqlite_runtime), headers={"Range": asked} if asked else {})
    assert answer.status_code == status and answer.content == body
    assert answer.headers.get("content-range") == content_range
    assert answer.headers["accept-ranges"] == "bytes"
    if status != 416:
        assert answer.headers["content-type"] == "audio/wav"
        assert int(answer.headers["content-length"]) == len(body)


def test_links_still_decide(local, sqlite_runtime):
    assert "content-disposition" not in local.get(link(sqlite_runtime)).headers
    download = local.get(link(sqlite_runtime, download="true"))
    assert download.headers["content-disposition"] == 'attachment; filename="speech.wav"'
    forged = link(sqlite_runtime).replace("jobs/j1/", "jobs/j2/")
    assert local.get(forged).status_code == 401
    gone = local.get(link(sqlite_runtime, "jobs/j2/speech.wav"))
    assert gone.status_code == 404 and gone.json()["success"] is False


def test_local_storage_streams_even_when_presigned_downloads_are_on(tmp_path: Path):
    with built_runtime(tmp_path, s3_presigned_downloads=True) as runtime, \
            api_client(runtime) as client:
        runtime.storage.write_bytes(KEY, DATA)
        answer = client.get(link(runtime), follow_redirects=False)
    assert answer.status_code == 200 and answer.content == DATA


@pytest.fixture
def presigned(tmp_path: Path, seaweedfs: SeaweedFS) -> Iterator[tuple[Runtime, TestClient]]:
    settings = {name.removeprefix("HAMS_").lower(): value
                for name, value in seaweedfs.env(f"presign-{tmp_path.name[-12:]}").items()}
    with built_runtime(tmp_path, **settings, s3_presigned_downloads=True) as runtime, \
            api_client(runtime) as client:
        yield runtime, client


def test_presigned_downloads_redirect_to_the_store(presigned, seaweedfs):
    runtime, client = presigned
    runtime.storage.write_bytes(KEY, DATA)
    answer = client.get(link(runtime, download="true"), follow_redirects=False)
    assert answer.status_code == 307
    location = answer.headers["location"]
    assert location.startswith(seaweedfs.endpoint) and "X-Amz-Signature" in location
    fetched = httpx.get(location, timeout=10)
    assert fetched.status_code == 200 and fetched.content == DATA
    assert fetched.headers["content-type"] == "audio/wav"
    assert fetched.headers["content-disposition"] == 'attachment; filename="speech.wav"'
    part = httpx.get(location, headers={"Range": "bytes=0-3"}, timeout=10)
    assert part.status_code == 206 and part.content == DATA[:4]
    assert client.get(link(runtime, "jobs/none/speech.wav"),
                      follow_redirects=False).status_code == 404  # checked before redirecting


def test_presigned_upload_downloads_keep_name_and_type(presigned):
    runtime, client = presigned
    uploaded = client.post("/v1/media", files={"file": ("نشرة.mp3", b"ID3 audio", "audio/mpeg")})
    assert uploaded.status_code == 200, uploaded.text
    media = uploaded.json()["data"]
    answer = client.get(urlsplit(media["mediaUrl"]).path, follow_redirects=False)
    assert answer.status_code == 307
    fetched = httpx.get(answer.headers["location"], timeout=10)
    assert fetched.content == b"ID3 audio" and fetched.headers["content-type"] == "audio/mpeg"
    assert fetched.headers["content-disposition"] == \
        "attachment; filename*=utf-8''%D9%86%D8%B4%D8%B1%D8%A9.mp3"
