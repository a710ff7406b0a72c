"""hams as a cluster on one machine: API replicas (`hams serve --workers 0`) and `hams worker`
processes on one PostgreSQL database and one SeaweedFS, each process with a data directory and
a temporary directory of its own (nothing shared but the database and the bucket). Used by the
chaos test and by bench/chaos.py, which drive jobs through it while killing workers.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, create_engine, text

from hams.settings import Settings
from tests.helpers.seaweedfs import SeaweedFS
from tests.helpers.server import HAMS, ServerProcess, hams_env, start_server

NOT_OURS = {".ses"}  # onnxruntime's session marker in TMPDIR, not a blob
KEPT_IN_DATA_DIR = {"models"}  # the bundled models, joined once: a cache, not a blob


@dataclass
class Cluster:
    """Start with ``start()``; ``kill_a_worker()`` SIGKILLs one worker and starts another."""

    root: Path
    database_url: str
    store: SeaweedFS
    prefix: str
    settings: dict[str, str] = field(default_factory=dict)
    replicas: list[ServerProcess] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)
    home_of: dict[int, Path] = field(default_factory=dict)  # worker pid → its directory
    crashed: set[Path] = field(default_factory=set)  # homes of SIGKILLed workers
    killed: int = 0
    _started: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _engine: Engine | None = None

    def env(self, home: Path) -> dict[str, str]:
        spool = home / "tmp"
        spool.mkdir(parents=True, exist_ok=True)
        return {"HAMS_DATABASE_URL": self.database_url, **self.store.env(self.prefix),
                "TMPDIR": str(spool), **self.settings}

    def start(self, replicas: int = 2, workers: int = 3, concurrency: int = 2) -> None:
        for index in range(replicas):
            home = self.root / f"api-{index}"
            home.mkdir()
            self.replicas.append(start_server(home, workers=0, env=self.env(home)))
        self.key = self.replicas[0].key  # the first start created the default project
        self.concurrency = concurrency
        for _ in range(workers):
            self.start_worker()

    def start_worker(self) -> subprocess.Popen:
        with self._lock:
            self._started += 1
            home = self.root / f"worker-{self._started}"
        home.mkdir()
        with (home / "worker.log").open("wb") as log:
            process = subprocess.Popen(
                [HAMS, "worker", "--concurrency", str(self.concurrency)],
                env=hams_env(home / "data", self.env(home)), stdout=log, stderr=log)
        with self._lock:
            self.workers.append(process)
            self.home_of[process.pid] = home
        return process

    def kill_a_worker(self, rng: random.Random) -> bool:
        """SIGKILL a random worker that is running a job (a crash mid-job: no release, its
        leases run out) and start a replacement, so the cluster keeps its size. Workers still
        starting are spared. False when no worker holds a job just now."""
        holders = {int(worker_id.split(":")[1]) for (worker_id,) in self.query(
            "SELECT worker_id FROM jobs WHERE state = 'running' AND worker_id IS NOT NULL")}
        with self._lock:
            busy = [w for w in self.workers if w.poll() is None and w.pid in holders]
        if not busy:
            return False
        victim = rng.choice(busy)
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        self.killed += 1
        self.crashed.add(self.home_of[victim.pid])
        self.start_worker()
        return True

    def client(self, index: int) -> httpx.Client:
        replica = self.replicas[index % len(self.replicas)]
        return httpx.Client(base_url=replica.base_url, timeout=90,
                            headers={"Authorization": f"Token {self.key}"})

    def query(self, sql: str, **params: object) -> list[tuple]:
        with self._lock:
            if self._engine is None:
                self._engine = create_engine(
                    Settings(database_url=self.database_url).resolved_database_url)
        with self._engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def homes(self) -> list[Path]:
        return sorted(p for p in self.root.iterdir() if p.is_dir())

    def stray_files(self) -> list[str]:
        """What any process left in its data or temporary directory besides models and caches.
        A SIGKILLed worker's temporary directory is not looked at: a crashed process cannot
        remove the file it was reading (the operating system's temporary cleanup does)."""
        stray = []
        for home in self.homes():
            data = home / "data"
            if data.is_dir():
                stray += [str(p.relative_to(self.root)) for p in data.iterdir()
                          if p.name not in KEPT_IN_DATA_DIR]
            spool = home / "tmp"
            if spool.is_dir() and home not in self.crashed:
                stray += [str(p.relative_to(self.root)) for p in spool.iterdir()
                          if p.name not in NOT_OURS]
        return stray

    def logs(self) -> str:
        parts = []
        for home in self.homes():
            for log in sorted(home.glob("*.log")):
                tail = log.read_text(errors="replace")[-4000:]
                parts.append(f"--- {log.relative_to(self.root)}\n{tail}")
        return "\n".join(parts)

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(40)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        for replica in self.replicas:
            replica.stop()
        if self._engine is not None:
            self._engine.dispose()


@dataclass
class ChaosRun:
    """The jobs a chaos run submitted (id → kind) and what it did to the cluster."""

    jobs: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)  # job id → its webhook path
    uploads: dict[str, str] = field(default_factory=dict)  # job id → its upload's mediaUrl
    store_restarts: int = 0
    finished_at_restart: int | None = None  # jobs that had ended when the store restarted
    seconds: float = 0.0


def with_retries(call, what: str, timeout: float = 120) -> httpx.Response:
    """A client's retry: an answer of 5xx or no answer (a store restarting) is tried again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = call()
            if response.status_code < 500:
                return response
            problem = f"{response.status_code} {response.text[:300]}"
        except httpx.TransportError as exc:
            problem = repr(exc)
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} kept failing: {problem}")
        time.sleep(0.5)


def submit(cluster: Cluster, run: ChaosRun, index: int, audio: bytes, voice_id: str,
           hook_url: Callable[[str], str]) -> None:
    """Job ``index``: even = a transcription of an upload (uploaded through one replica, the
    job created through the other), odd = a TTS job."""
    path = f"/chaos/{cluster.prefix}/{index}"
    hook = hook_url(path)
    with cluster.client(index) as first, cluster.client(index + 1) as second:
        if index % 2 == 0:
            uploaded = with_retries(lambda: first.post("/v1/media", files={
                "file": (f"clip-{index}.wav", audio, "audio/wav")}), "an upload")
            assert uploaded.status_code == 200, uploaded.text
            media_url = uploaded.json()["data"]["mediaUrl"]
            created = with_retries(lambda: second.post("/v1/jobs/transcribe", json={
                "mediaUrl": media_url, "language": "en", "webhookUrl": hook}), "a job")
            assert created.status_code == 200, created.text
            job_id, kind = created.json()["data"]["jobId"], "TRANSCRIPTION"
            run.uploads[job_id] = media_url
        else:
            created = with_retries(lambda: first.post("/v1/jobs/text-to-speech", json={
                "voiceId": voice_id, "text": f"Order {index} is ready for pickup.",
                "webhookUrl": hook}), "a TTS job")
            assert created.status_code == 200, created.text
            job_id, kind = created.json()["data"]["id"], "TTS"
    run.jobs[job_id] = kind
    run.hooks[job_id] = path


def finished_count(cluster: Cluster, job_ids: list[str]) -> int:
    rows = cluster.query("SELECT id FROM jobs WHERE state IN ('completed', 'failed', "
                         "'cancelled')")
    wanted = set(job_ids)
    return sum(1 for (job_id,) in rows if job_id in wanted)


def run_chaos(cluster: Cluster, *, jobs: int, audio: bytes, hook_url: Callable[[str], str],
              rng: random.Random, kill_every: tuple[float, float] = (2.0, 5.0),
              max_kills: int = 6, timeout: float = 600) -> ChaosRun:
    """Submit ``jobs`` mixed jobs through both replicas while a thread SIGKILLs a random
    worker mid-job every few seconds (``max_kills`` in all) and restarts the object store
    once, a third of the way in; returns when every job has ended (or ``timeout``)."""
    run = ChaosRun()
    started = time.monotonic()
    with cluster.client(0) as client:
        voices = client.get("/v1/tts/voices", params={"take": 100}).json()["data"]
    voice_id = next(v["id"] for v in voices if v["name"] == "Emma")
    done = threading.Event()

    def chaos() -> None:
        next_kill = time.monotonic() + rng.uniform(*kill_every)
        while not done.wait(0.25):
            if (time.monotonic() >= next_kill and cluster.killed < max_kills
                    and cluster.kill_a_worker(rng)):  # else: no worker busy yet, next tick
                next_kill = time.monotonic() + rng.uniform(*kill_every)
            if not run.store_restarts and len(run.jobs) == jobs:
                finished = finished_count(cluster, list(run.jobs))
                if finished >= jobs // 3:
                    run.finished_at_restart = finished
                    cluster.store.restart()
                    run.store_restarts += 1

    chaos_thread = threading.Thread(target=chaos, name="chaos", daemon=True)
    chaos_thread.start()
    try:
        for index in range(jobs):
            submit(cluster, run, index, audio, voice_id, hook_url)
        deadline = started + timeout
        while finished_count(cluster, list(run.jobs)) < jobs:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {finished_count(cluster, list(run.jobs))} of {jobs} jobs ended in "
                    f"{timeout} s\n{cluster.logs()}")
            time.sleep(0.5)
    finally:
        done.set()
        chaos_thread.join(120)
    run.seconds = time.monotonic() - started
    return run
