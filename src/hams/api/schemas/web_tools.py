"""Wire models of the web tools: versioned HTTP functions an agent may call.

Requests take Hamsa's ``toolSettings.timeOut`` and also ``timeout`` (``timeOut`` wins when
both come): up to 120 it is seconds, above milliseconds. Answers show both: ``timeout`` in
milliseconds (as Hamsa's answers do) and ``timeOut`` in seconds, so a client that sends back
either spelling as it read it keeps the same value. Secrets (``authToken``, credential headers)
are only ever shown masked; sending the masked value back keeps the stored one.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from hams.api.schemas.common import HEADER_SAFE, ResponseModel, WireModel, iso
from hams.db.models import WebTool
from hams.services.web_tool_calls import ToolCallResult
from hams.services.web_tools import (
    MAX_TIMEOUT_MS,
    UNSET,
    ToolFields,
    ToolSettingsFields,
    function_name,
)

TEXT = r"^[^\x00]*$"  # PostgreSQL text holds no NUL
NAME = r"^[^\x00-\x1f\x7f]+$"  # one line, no control characters
ID = r"^[A-Za-z0-9_-]{1,100}$"  # a version id (uuid) or a persistentId (uuid, Hamsa's cuid)
PathName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
PathValue = (Annotated[str, StringConstraints(max_length=1000, pattern=TEXT)] | int
             | Annotated[float, Field(allow_inf_nan=False)] | bool)
Arguments = dict[str, Any]


class ToolSettingsIn(WireModel):
    serverUrl: str | None = Field(None, min_length=1, max_length=2048, pattern=TEXT)
    methodType: str | None = Field(None, max_length=10, description="GET, POST, PUT, PATCH "
                                   "or DELETE, in any case")
    authToken: str | None = Field(None, max_length=4000, pattern=HEADER_SAFE,
                                  description="Sent as `Authorization: Bearer <authToken>`, "
                                  "or as is when it starts with its scheme (`Basic …`)")
    timeOut: float | None = Field(None, gt=0, le=MAX_TIMEOUT_MS,
                                  description="Up to 120: seconds; above: milliseconds")
    timeout: float | None = Field(None, gt=0, le=MAX_TIMEOUT_MS,
                                  description="Same as timeOut (timeOut wins)")
    httpHeaders: dict[str, str] | None = Field(None, max_length=50)
    pathParameters: dict[PathName, PathValue] | None = Field(
        None, max_length=50, description="Values of `{name}` placeholders in serverUrl when "
        "the arguments give none")

    def fields(self) -> ToolSettingsFields:
        """Only what was sent; an explicit null clears where clearing means something."""
        sent = self.model_fields_set
        out = ToolSettingsFields()
        if self.serverUrl is not None:
            out.server_url = self.serverUrl
        if self.methodType is not None:
            out.method_type = self.methodType
        if "authToken" in sent:
            out.auth_token = self.authToken
        if "timeOut" in sent or "timeout" in sent:
            out.timeout = self.timeOut if "timeOut" in sent else self.timeout
        if "httpHeaders" in sent:
            out.http_headers = self.httpHeaders
        if "pathParameters" in sent:
            out.path_parameters = self.pathParameters
        return out


class MessageIn(WireModel):
    type: str = Field(min_length=1, max_length=50, pattern=TEXT,
                      description='e.g. REQUEST_START, REQUEST_FAILED (v2) or "system" (v1)')
    content: str = Field(min_length=1, max_length=2000, pattern=TEXT)


class WebToolUpdate(WireModel):
    type: str | None = Field(None, max_length=30, description="FUNCTION")
    name: str | None = Field(None, min_length=1, max_length=250, pattern=NAME)
    description: str | None = Field(None, max_length=1000, pattern=TEXT)
    collectionId: str | None = Field(None, max_length=100, pattern=TEXT)
    is_async: bool | None = Field(None, alias="async")
    isActive: bool | None = None
    toolSettings: ToolSettingsIn | None = None
    messages: list[MessageIn] | None = Field(None, max_length=10)
    params: dict[str, Any] | None = Field(None, description="A JSON Schema of type object: "
                                          "the arguments")

    def fields(self) -> ToolFields:
        sent = self.model_fields_set
        out = ToolFields()
        for wire, name in (("type", "type"), ("name", "name"), ("is_async", "is_async"),
                           ("isActive", "is_active")):
            if getattr(self, wire) is not None:
                setattr(out, name, getattr(self, wire))
        for wire, name in (("description", "description"), ("collectionId", "collection_id"),
                           ("params", "params")):
            if wire in sent:
                setattr(out, name, getattr(self, wire))
        if "messages" in sent:
            out.messages = [m.model_dump() for m in self.messages or []]
        if self.toolSettings is not None:
            out.settings = self.toolSettings.fields()
        return out


class WebToolCreate(WebToolUpdate):
    type: str = Field("FUNCTION", max_length=30, description="FUNCTION")
    name: str = Field(min_length=1, max_length=250, pattern=NAME)
    is_async: bool = Field(False, alias="async")
    isActive: bool = True
    toolSettings: ToolSettingsIn

    def fields(self) -> ToolFields:
        out = super().fields()
        out.messages = out.messages if out.messages is not UNSET else []
        return out


class WebToolTest(WireModel):
    """The arguments to call the tool with (``arguments``, or ``params`` / ``args``)."""

    arguments: Arguments | None = None
    params: Arguments | None = None
    args: Arguments | None = None

    def chosen(self) -> Arguments:
        for value in (self.arguments, self.params, self.args):
            if value is not None:
                return value
        return {}


class ToolSettingsPublic(ResponseModel):
    serverUrl: str
    methodType: str
    authToken: str | None = Field(description="Masked; null when none is set")
    timeout: int | None = Field(description="Milliseconds; null: the server's default")
    timeOut: float | None = Field(description="The same timeout in seconds")
    httpHeaders: dict[str, str]
    pathParameters: dict[str, str | bool | int | float]


class MessagePublic(ResponseModel):
    type: str
    content: str


class WebToolPublic(ResponseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: str = Field(description="This version's id")
    persistentId: str = Field(description="The tool's id across its versions")
    version: int
    name: str
    functionName: str = Field(description="The name the agent's LLM calls it by")
    type: str
    userId: str | None
    apiKeyId: str | None
    projectId: str
    isActive: bool
    is_async: bool = Field(alias="async")
    description: str | None
    collectionId: str | None
    toolSettings: ToolSettingsPublic
    params: dict[str, Any] | None
    messages: list[MessagePublic]
    createdAt: str | None
    updatedAt: str | None

    @classmethod
    def of(cls, tool: WebTool) -> WebToolPublic:
        stored = tool.settings
        timeout = stored.get("timeout")
        settings = ToolSettingsPublic(
            serverUrl=stored["serverUrl"], methodType=stored.get("methodType", "POST"),
            authToken=stored.get("authToken"), timeout=timeout,
            timeOut=None if timeout is None else timeout / 1000,
            httpHeaders=stored.get("httpHeaders") or {},
            pathParameters=stored.get("pathParameters") or {})
        return cls(id=tool.id, persistentId=tool.persistent_id, version=tool.version,
                   name=tool.name, functionName=function_name(tool), type=tool.type,
                   userId=None, apiKeyId=tool.api_key_id, projectId=tool.project_id,
                   isActive=tool.is_active, is_async=tool.is_async,
                   description=tool.description, collectionId=tool.collection_id,
                   toolSettings=settings, params=tool.params,
                   messages=[MessagePublic(**m) for m in tool.messages],
                   createdAt=iso(tool.created_at), updatedAt=iso(tool.updated_at))


class WebToolList(ResponseModel):
    total: int = Field(description="The project's tools")
    filtered: int = Field(description="Those the filters match")
    items: list[WebToolPublic] = Field(description="Each tool's latest version (with "
                                       "voiceAgentId: the version the agent uses)")


class WebToolDeleted(ResponseModel):
    id: str
    persistentId: str
    deletedVersions: int


class WebToolTestResult(ResponseModel):
    method: str
    url: str = Field(description="The URL called: placeholders filled, query added")
    ok: bool = Field(description="A 2xx answer")
    status: int | None = Field(description="null when no answer came")
    latencyMs: int
    body: str | None = Field(description="The answer as text, cut at the server's limit")
    truncated: bool
    contentType: str | None
    error: str | None

    @classmethod
    def of(cls, result: ToolCallResult) -> WebToolTestResult:
        return cls(method=result.method, url=result.url, ok=result.ok, status=result.status,
                   latencyMs=result.latency_ms, body=result.body, truncated=result.truncated,
                   contentType=result.content_type, error=result.error)
