"""Project Routes: the project behind the calling API key."""

from __future__ import annotations

from fastapi import APIRouter

from hams.api.deps import READ, PrincipalDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.projects import ProjectPublic
from hams.services.keys import own_project

router = APIRouter(tags=["Projects"])
ProjectAnswer = Envelope[ProjectPublic]


@router.get("/v1/projects/by-api-key", dependencies=[READ], response_model=ProjectAnswer,
            responses=error_responses(*AUTHENTICATED, 404, 503))
def project_by_api_key(session: SessionDep, principal: PrincipalDep) -> ProjectAnswer:
    """The project the calling API key belongs to (clients read data.id as projectId)."""
    return ProjectAnswer(data=ProjectPublic.from_project(own_project(session, principal)))
