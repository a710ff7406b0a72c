"""Test data: projects and keys made through the real services, job rows, jobs read back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hams.app import create_app
from hams.db.models import Job, Project
from hams.runtime import Runtime
from hams.services import keys
from hams.services.keys import Principal


def make_project(runtime: Runtime, name: str | None = None) -> Project:
    import uuid

    with runtime.db.session() as session:
        return keys.create_project(session, name or f"project-{uuid.uuid4().hex[:8]}")


def make_key(runtime: Runtime, project: Project, expires_at: datetime | None = None
             ) -> tuple[str, str]:
    """(key id, secret) for ``project``."""
    with runtime.db.session() as session:
        key, secret = keys.create_key(session, project, "test", expires_at)
        return key.id, secret


def make_principal(runtime: Runtime, project: Project | None = None) -> Principal:
    project = project or make_project(runtime)
    key_id, _ = make_key(runtime, project)
    return Principal(project_id=project.id, api_key_id=key_id, project_name=project.name)


def make_job(where: Runtime | Session | None, principal: Principal | None = None, **values
             ) -> Job:
    """A job row: a queued English transcription of an unreachable URL unless ``values`` say
    otherwise. ``where`` stores it: a runtime (in a session of its own, committed), a session
    (flushed into it, committed with it), or None for a job never stored, for code that only
    reads one. ``principal`` owns it (every stored job has an owner)."""
    defaults = dict(type="TRANSCRIPTION", model="Hamsa-General-V2.0", from_lng="en",
                    media_url="http://127.0.0.1:1/none.wav", options={})
    if principal is not None:
        defaults.update(project_id=principal.project_id, api_key_id=principal.api_key_id)
    job = Job(**{**defaults, **values})
    if isinstance(where, Session):
        where.add(job)
        where.flush()
    elif where is not None:
        with where.db.session() as session:
            session.add(job)
            session.flush()
    return job


def make_jobs(runtime: Runtime, principal: Principal, count: int, **values) -> list[str]:
    """The ids of ``count`` jobs made by :func:`make_job`, oldest first."""
    return [make_job(runtime, principal, **values).id for _ in range(count)]


def load_job(runtime: Runtime, job_id: str) -> Job:
    """The job's row as it is now, read in a session of its own."""
    with runtime.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None, f"job {job_id} is gone"
        return job


@contextmanager
def api_client(runtime: Runtime) -> Iterator[TestClient]:
    """The app in process, authenticated as a new project's key: ``client.project`` and
    ``client.principal`` say whose."""
    project = make_project(runtime)
    key_id, secret = make_key(runtime, project)
    with TestClient(create_app(runtime.settings, runtime=runtime),
                    headers={"Authorization": f"Token {secret}"}) as client:
        client.project = project
        client.principal = Principal(project_id=project.id, api_key_id=key_id,
                                     project_name=project.name)
        yield client
