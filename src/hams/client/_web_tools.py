"""Web tools: ``client.web_tools``, one definition for both clients.

A web tool is an HTTP function an agent may call; every update makes a new version under the
same ``persistent_id``. The v2 paths are used (v1 answers the same)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hams.client._http import ApiRequest
from hams.client._ops import Op, body_of, data_of, operation, segment
from hams.client._resource import Resource, camel_fields, merge
from hams.client.models import WebTool, WebToolPage, WebToolTestResult

WEB_TOOLS = "/v2/voice-agents/web-tool"
SECONDS_UP_TO = 120  # hams reads a timeout up to 120 as seconds, above as milliseconds


def tool_body(fields: Mapping[str, Any], *, name: str | None, url: str | None,
              method: str | None, auth_token: str | None,
              headers: Mapping[str, str] | None, timeout: float | None) -> dict[str, Any]:
    """A web-tool body: ``fields`` by their wire names (snake_case or camelCase;
    ``is_async`` is the wire's ``async``), then the shortcuts into ``toolSettings``."""
    body = camel_fields(fields, ("toolSettings",))
    if "isAsync" in body:
        body["async"] = body.pop("isAsync")
    if name is not None:
        body["name"] = name
    merge(body, "toolSettings", serverUrl=url, methodType=method, authToken=auth_token,
          httpHeaders=dict(headers) if headers is not None else None,
          timeOut=None if timeout is None else
          timeout if timeout <= SECONDS_UP_TO else timeout * 1000)
    return body


class WebTools(Resource):
    """``client.web_tools``: create, read, list, version, test and delete web tools."""

    @operation
    def create(self, name: str, *, url: str, method: str | None = None,
               description: str | None = None, params: Mapping[str, Any] | None = None,
               auth_token: str | None = None, headers: Mapping[str, str] | None = None,
               timeout: float | None = None, **fields: Any) -> Op[WebTool]:
        """A new tool (version 1) that calls ``url`` (``{name}`` placeholders are filled from
        the arguments) with ``method`` (POST by default). ``params`` is the arguments' JSON
        Schema; ``auth_token`` is sent as ``Authorization: Bearer``; ``timeout`` in seconds
        (at most 120). Other fields: ``messages``, ``is_async``, ``collection_id``,
        ``is_active``, ``tool_settings={"path_parameters": ...}``."""
        given = body_of(description=description,
                        params=dict(params) if params is not None else None)
        response = yield ApiRequest("POST", WEB_TOOLS, json=tool_body(
            {**fields, **given}, name=name, url=url, method=method, auth_token=auth_token,
            headers=headers, timeout=timeout))
        return WebTool.model_validate(data_of(response))

    @operation
    def get(self, tool_id: str, *, version: int | None = None) -> Op[WebTool]:
        """A version by its id, or a tool by its persistent id: its latest version, or
        ``version``."""
        response = yield ApiRequest("GET", f"{WEB_TOOLS}/{segment(tool_id)}",
                                    params={"version": version})
        return WebTool.model_validate(data_of(response))

    @operation
    def list(self, *, page: int = 1, per_page: int = 10, search: str | None = None,
             type: str | None = None, is_active: bool | None = None,
             collection_id: str | None = None, agent_id: str | None = None
             ) -> Op[WebToolPage]:
        """One page of the project's tools, each in its latest version (with ``agent_id``:
        the tools that agent uses, in the version it uses)."""
        response = yield ApiRequest("GET", WEB_TOOLS + "/list", params=dict(
            skip=page, take=per_page, search=search, type=type, isActive=is_active,
            collectionId=collection_id, voiceAgentId=agent_id))
        return WebToolPage.model_validate(data_of(response))

    @operation
    def update(self, tool_id: str, *, name: str | None = None, url: str | None = None,
               method: str | None = None, auth_token: str | None = None,
               headers: Mapping[str, str] | None = None, timeout: float | None = None,
               **fields: Any) -> Op[WebTool]:
        """A new version with what is given changed and the rest carried over (a field in
        ``fields`` given as None is cleared: ``description=None``); agents that
        follow the tool's latest version use it at once, pinned ones keep theirs. Sent once:
        a retry would make another version."""
        response = yield ApiRequest("PATCH", f"{WEB_TOOLS}/{segment(tool_id)}", json=tool_body(
            fields, name=name, url=url, method=method, auth_token=auth_token, headers=headers,
            timeout=timeout))
        return WebTool.model_validate(data_of(response))

    @operation
    def delete(self, tool_id: str) -> Op[None]:
        """Delete the tool, every version, and every agent's link to it (a hams extension)."""
        yield ApiRequest("DELETE", f"{WEB_TOOLS}/{segment(tool_id)}")

    @operation
    def test(self, tool_id: str, arguments: Mapping[str, Any] | None = None, *,
             version: int | None = None) -> Op[WebToolTestResult]:
        """Call the tool once with ``arguments`` (a hams extension) and report the answer:
        its status, latency and body. A call that failed on the wire (no answer, a timeout,
        an error status) is reported in the result, not raised; arguments that do not fit
        ``params``, or a URL the server's guard refuses, are a BadRequestError. Sent once,
        never retried."""
        response = yield ApiRequest("POST", f"{WEB_TOOLS}/{segment(tool_id)}/test",
                                    params={"version": version},
                                    json={"arguments": dict(arguments or {})})
        return WebToolTestResult.model_validate(data_of(response))
