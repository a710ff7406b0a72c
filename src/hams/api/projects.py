"""Project Routes: the project behind the calling API key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hams.api.deps import PrincipalDep, SessionDep, get_principal
from hams.api.envelope import ok
from hams.db.models import Project
from hams.services.jobs import iso

router = APIRouter(tags=["Projects"], dependencies=[Depends(get_principal)])


@router.get("/v1/projects/by-api-key")
def project_by_api_key(session: SessionDep, principal: PrincipalDep) -> dict:
    """The project the calling API key belongs to (clients read data.id as projectId)."""
    project = session.get(Project, principal.project_id)
    return ok({"id": project.id, "name": project.name, "isDeactivated": project.is_deactivated,
               "createdAt": iso(project.created_at), "updatedAt": iso(project.updated_at),
               "webhookSecret": project.webhook_secret})  # hams: verifies X-Hams-Signature
