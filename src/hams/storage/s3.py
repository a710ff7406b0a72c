"""Blobs in an S3-compatible object store (AWS S3, SeaweedFS, MinIO) through boto3.

Keys live under the prefix of ``HAMS_STORAGE_URL=s3://bucket/prefix``. Local files exist only
for the length of a call (a writer's spool, a ``local_copy``), in the system's temporary
directory, and are always removed: with object storage no data directory holds a blob.
The store's errors are translated here: a missing key is ``BlobNotFound``, anything else
the store or the network says is ``ServiceUnavailable`` (retryable: jobs try again).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from hams.errors import ServiceUnavailable
from hams.storage.blobs import (
    DEFAULT_CHUNK_BYTES,
    BlobNotFound,
    check_key,
    content_disposition,
)

if TYPE_CHECKING:
    from hams.settings import Settings

log = logging.getLogger(__name__)

MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
CREDENTIAL_CODES = frozenset({"403", "AccessDenied", "InvalidAccessKeyId",
                              "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"})
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
PRESIGN_MAX_SECONDS = 7 * 24 * 3600  # SigV4's limit


def parse_storage_url(url: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of ``s3://bucket/prefix``; anything else is refused by name."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"HAMS_STORAGE_URL={url!r} is not an object store URL: use "
                         "s3://bucket or s3://bucket/prefix, or leave it unset for "
                         "DATA_DIR/blobs")
    prefix = parts.path.strip("/")
    if prefix:
        check_key(prefix)
    return parts.netloc, prefix


class S3Storage:
    """One bucket (and prefix) of an S3-compatible store; thread-safe (one boto3 client)."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str = "us-east-1", access_key_id: str | None = None,
                 secret_access_key: str | None = None,
                 multipart_bytes: int = 16 * 1024 * 1024) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", connect_timeout=5, read_timeout=60,
                          retries={"mode": "standard", "max_attempts": 3},
                          # streamed downloads, job threads and multipart parts at once
                          max_pool_connections=64,
                          # SeaweedFS and MinIO behind an address: the bucket in the path
                          s3={"addressing_style": "path" if endpoint_url else "auto"}))
        self.transfer = TransferConfig(multipart_threshold=multipart_bytes,
                                       multipart_chunksize=multipart_bytes,
                                       max_concurrency=4)

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """The store ``HAMS_STORAGE_URL`` names, checked: the bucket exists and the keys may
        see it (HeadBucket; a key without write access shows at the first write)."""
        bucket, prefix = parse_storage_url(settings.storage_url or "")
        secret = settings.s3_secret_access_key
        storage = cls(bucket, prefix, endpoint_url=settings.s3_endpoint_url,
                      region=settings.s3_region, access_key_id=settings.s3_access_key_id,
                      secret_access_key=secret.get_secret_value() if secret else None,
                      multipart_bytes=settings.s3_multipart_bytes)
        storage.check()
        return storage

    def check(self) -> None:
        """Refuse to start on a store that cannot be used, saying which setting to fix."""
        where = f"HAMS_STORAGE_URL=s3://{self.bucket}/{self.prefix}".rstrip("/")
        endpoint = self.endpoint_url or "AWS S3"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError as exc:
            raise ServiceUnavailable(f"Object storage ({where}) needs credentials: set "
                                     "HAMS_S3_ACCESS_KEY_ID and HAMS_S3_SECRET_ACCESS_KEY"
                                     ) from exc
        except ClientError as exc:
            code = _code(exc)
            if code in MISSING_CODES or code == "NoSuchBucket":
                raise ServiceUnavailable(f"The bucket {self.bucket!r} does not exist on "
                                         f"{endpoint}: create it, or fix {where}") from exc
            if code in CREDENTIAL_CODES:
                raise ServiceUnavailable(f"{endpoint} refused the credentials for bucket "
                                         f"{self.bucket!r}: check HAMS_S3_ACCESS_KEY_ID and "
                                         "HAMS_S3_SECRET_ACCESS_KEY") from exc
            raise ServiceUnavailable(f"Object storage {endpoint} answered {code} for bucket "
                                     f"{self.bucket!r} ({where})") from exc
        except BotoCoreError as exc:
            raise ServiceUnavailable(f"Object storage cannot be reached at {endpoint}: check "
                                     f"HAMS_S3_ENDPOINT_URL ({exc})") from exc

    # ---- writing -------------------------------------------------------------------------

    def write_bytes(self, key: str, data: bytes) -> None:
        with _translated(key):
            if len(data) > self.transfer.multipart_threshold:  # a long TTS job's audio
                self.client.upload_fileobj(io.BytesIO(data), self.bucket, self._key(key),
                                           Config=self.transfer)
            else:
                self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def write_file(self, key: str, path: Path) -> None:
        with _translated(key):
            self.client.upload_file(str(path), self.bucket, self._key(key),
                                    Config=self.transfer)

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        name = self._key(key)
        with tempfile.TemporaryFile(prefix="hams-blob-") as spool:  # unlinked already
            yield spool
            spool.seek(0)
            with _translated(key):
                self.client.upload_fileobj(spool, self.bucket, name, Config=self.transfer)

    # ---- reading -------------------------------------------------------------------------

    def read_bytes(self, key: str) -> bytes:
        with _translated(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
            with contextlib.closing(body):
                return body.read()

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        suffix = Path(key).suffix if len(Path(key).suffix) <= 10 else ""
        fd, name = tempfile.mkstemp(prefix="hams-blob-", suffix=suffix)
        os.close(fd)
        try:
            with _translated(key):
                self.client.download_file(self.bucket, self._key(key), name,
                                          Config=self.transfer)
            yield Path(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def stream(self, key: str, start: int = 0, stop: int | None = None,
               chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if start or stop is not None:
            request["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        with _translated(key):  # sent now: a missing blob is known before a response starts
            body = self.client.get_object(**request)["Body"]

        def chunks() -> Iterator[bytes]:
            with contextlib.closing(body), _translated(key):
                yield from body.iter_chunks(chunk_bytes)

        return chunks()

    def size(self, key: str) -> int | None:
        try:
            with _translated(key):
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except BlobNotFound:
            return None
        return int(head["ContentLength"])

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def presigned_url(self, key: str, seconds: int, filename: str | None = None,
                      content_type: str | None = None) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        with _translated(key):
            return self.client.generate_presigned_url(
                "get_object", Params=params,
                ExpiresIn=max(1, min(int(seconds), PRESIGN_MAX_SECONDS)))

    # ---- deleting ------------------------------------------------------------------------

    def delete_prefix(self, prefix: str) -> None:
        """Best effort, as ``rmtree`` on a local disk: callers delete after their commit or
        while already failing, where a store error must not replace what happened; what could
        not be deleted is logged."""
        name = self._key(prefix)  # a key that could escape is still refused
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=name)
            doomed = [item["Key"] for page in pages for item in page.get("Contents", [])
                      if item["Key"] == name or item["Key"].startswith(name + "/")]
            for first in range(0, len(doomed), DELETE_BATCH):
                batch = doomed[first:first + DELETE_BATCH]
                answer = self.client.delete_objects(Bucket=self.bucket, Delete={
                    "Objects": [{"Key": key} for key in batch], "Quiet": True})
                for error in answer.get("Errors", []):
                    log.warning("could not delete blob %s: %s %s", error.get("Key"),
                                error.get("Code"), error.get("Message"))
        except (BotoCoreError, ClientError):
            log.warning("could not delete the blobs under %s", prefix, exc_info=True)

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _translated(key: str) -> Iterator[None]:
    """The store's errors as hams' own: missing is final, the rest worth another try."""
    try:
        yield
    except ClientError as exc:
        if _code(exc) in MISSING_CODES:
            raise BlobNotFound("The stored file no longer exists") from exc
        raise ServiceUnavailable(f"Object storage refused {key!r}: {_code(exc)}") from exc
    except BotoCoreError as exc:
        raise ServiceUnavailable(f"Object storage is not reachable right now ({exc})") from exc
