"""A real `hams serve` / `hams worker` process on a random port, and a small API client."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.helpers.wait import wait_until

HAMS = str(Path(sys.executable).with_name("hams"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hams_env(data_dir: Path, env: dict[str, str | None] | None = None) -> dict[str, str]:
    """A clean environment: no stray HAMS_* from the caller, bundled tiny.en, the data dir, and
    no model downloads. A value of None in ``env`` removes that variable."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HAMS_")}
    base.update({"HAMS_DATA_DIR": str(data_dir), "HAMS_STT_MODEL": "bundled-tiny.en",
                 "HAMS_LOG_LEVEL": "INFO", "HF_HUB_OFFLINE": "1"})
    for name, value in (env or {}).items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def run_cli(data_dir: Path, *args: str, env: dict[str, str | None] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`hams ARGS` with ``hams_env(data_dir, env)``, run in ``cwd`` (default: this one)."""
    return subprocess.run([HAMS, *args], env=hams_env(data_dir, env), capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@dataclass
class ServerProcess:
    process: subprocess.Popen
    base_url: str
    key: str
    data_dir: Path
    log_path: Path
    extra: dict = field(default_factory=dict)

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=90,
                            headers={"Authorization": f"Token {key or self.key}"})

    def rows(self, sql: str, *params: object) -> list[tuple]:
        """Rows from the server's own SQLite database, read while it runs."""
        with closing(sqlite3.connect(self.data_dir / "hams.db")) as db:
            return db.execute(sql, params).fetchall()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, *, workers: int = 1, env: dict[str, str | None] | None = None
                 ) -> ServerProcess:
    """Start `hams serve` and wait until /health answers; the printed key is captured."""
    port = free_port()
    log_path = data_dir / "server.log"
    out_path = data_dir / "server.out"
    with log_path.open("wb") as log, out_path.open("wb") as out:
        process = subprocess.Popen(
            [HAMS, "serve", "--port", str(port), "--workers", str(workers)],
            env=hams_env(data_dir / "data", env), stdout=out, stderr=log)
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"hams serve exited:\n{log_path.read_text()}")
        try:
            return httpx.get(f"{base_url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, 60, interval=0.1, what="hams serve to answer /health")
    except AssertionError:
        process.kill()
        raise RuntimeError(f"hams serve did not start:\n{log_path.read_text()}") from None
    printed = out_path.read_text().strip().splitlines()
    key = printed[0] if printed else ""
    return ServerProcess(process, base_url, key, data_dir / "data", log_path)


def start_worker(data_dir: Path, *, concurrency: int = 1, env: dict[str, str] | None = None
                 ) -> subprocess.Popen:
    log = (data_dir / f"worker-{time.monotonic_ns()}.log").open("wb")
    return subprocess.Popen([HAMS, "worker", "--concurrency", str(concurrency)],
                            env=hams_env(data_dir, env), stdout=log, stderr=log)


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 120) -> dict:
    """Long-poll GET /v1/jobs until the job is finished; returns the whole response body."""

    def finished() -> dict | None:
        body = client.get("/v1/jobs", params={"jobId": job_id, "wait": 20}).json()
        return body if body["data"]["status"] != "PENDING" else None

    return wait_until(finished, timeout, interval=0, what=f"job {job_id} to finish")
