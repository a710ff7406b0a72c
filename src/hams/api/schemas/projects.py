"""Answer of the project route: the project behind the calling key."""

from __future__ import annotations

from pydantic import Field

from hams.api.schemas.common import ResponseModel, iso
from hams.db.models import Project


class ProjectPublic(ResponseModel):
    id: str = Field(description="Clients send it back as projectId")
    name: str
    isDeactivated: bool
    createdAt: str | None
    updatedAt: str | None
    webhookSecret: str = Field(description="hams: verifies the X-Hams-Signature of webhooks")

    @classmethod
    def from_project(cls, project: Project) -> ProjectPublic:
        return cls(id=project.id, name=project.name, isDeactivated=project.is_deactivated,
                   createdAt=iso(project.created_at), updatedAt=iso(project.updated_at),
                   webhookSecret=project.webhook_secret)
