"""Web tools: the records of the versioned HTTP functions an agent may call, and the checks
and sealing of what they store (calling one is ``services.web_tool_calls``).

A tool is a chain of rows under one ``persistent_id``: creating makes version 1, every update
adds the next version (fields not sent are carried over from the latest), and a delete removes
them all together with the agents' links to them. ``id`` names one version; every lookup also
takes the ``persistent_id`` and then means the latest version.

Stored ``settings`` are the toolSettings without secrets: the authToken and the values of
credential headers (``SECRET_HEADERS``) are sealed in ``sealed_secrets``; ``settings`` keeps
only their masked forms, which is all any answer shows.

Timeouts: Hamsa's request examples send ``timeOut`` 5 or 15 (seconds) while its answers show
``timeout`` 5000 (milliseconds). A value up to ``SECONDS_UP_TO`` (120) is read as seconds, a
larger one as milliseconds; hams stores milliseconds, at most 120 s.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from hams.db.models import VoiceAgentWebTool, WebTool
from hams.db.text_search import contains
from hams.errors import Conflict, NotFound, UrlRefused, ValidationFailed
from hams.media.urls import check_url, url_policy
from hams.sealing import SealedSecretUnreadable, SecretBox, is_masked, mask
from hams.services.keys import Principal
from hams.settings import Settings

field_error = ValidationFailed.at_field  # a 400 naming the field at fault

TYPES = ("FUNCTION",)  # Hamsa also documents MCP tools; hams cannot call an MCP server yet
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SECONDS_UP_TO = 120  # a timeout up to this is seconds, above it milliseconds
MAX_TIMEOUT_MS = 120_000
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key",
                            "api-key", "x-auth-token"})
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                               "upgrade", "te", "trailer", "keep-alive", "proxy-connection"})
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
PLACEHOLDER = re.compile(r"\{\{?\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}?")
MAX_SCHEMA_DEPTH = 32  # deeper JSON is refused before a validator recurses into it
MAX_SCHEMA_CHARS = 64 * 1024
URL_FIELD = "toolSettings.serverUrl"
log = logging.getLogger(__name__)


class Unset:
    """The value of a field an update does not send: the stored one is kept."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = Unset()


@dataclass
class ToolSettingsFields:
    """toolSettings as a create or an update sends them; UNSET keeps the stored value."""

    server_url: Any = UNSET
    method_type: Any = UNSET
    auth_token: Any = UNSET  # None or "" clears; a masked value keeps the stored token
    timeout: Any = UNSET  # seconds (≤ 120) or milliseconds, as sent; None: the server default
    http_headers: Any = UNSET  # replaces the whole set; a masked secret value keeps its value
    path_parameters: Any = UNSET


@dataclass
class ToolFields:
    """What a create or an update says of a tool; UNSET where an update keeps the stored value."""

    name: Any = UNSET
    type: Any = UNSET
    description: Any = UNSET
    collection_id: Any = UNSET
    is_active: Any = UNSET
    is_async: Any = UNSET
    params: Any = UNSET
    messages: Any = UNSET
    settings: ToolSettingsFields = field(default_factory=ToolSettingsFields)


@dataclass(frozen=True)
class ToolQuery:
    """The v1/v2 list's filters and page (``page`` 1-based)."""

    page: int = 1
    take: int = 10
    collection_id: str | None = None
    return_uncategorized: bool = False
    is_active: bool | None = None
    search: str | None = None
    type: str | None = None
    voice_agent_id: str | None = None


# --- reading ---------------------------------------------------------------------------------


def get_web_tool(session: Session, principal: Principal, ref: str, version: int | None = None
                 ) -> WebTool:
    """A version by its id, or the latest (or ``version``) of a persistentId; another
    project's tool is not found either."""
    row = session.get(WebTool, ref)
    if row is not None and row.project_id == principal.project_id and version is None:
        return row
    persistent_id = row.persistent_id if row is not None else ref
    query = select(WebTool).where(WebTool.project_id == principal.project_id,
                                  WebTool.persistent_id == persistent_id)
    if version is not None:
        query = query.where(WebTool.version == version)
    found = session.scalars(query.order_by(WebTool.version.desc()).limit(1)).first()
    if found is None:
        raise NotFound("Web tool not found")
    return found


def _latest(project_id: str) -> Any:
    """(persistent_id, latest version) of every tool of the project."""
    return (select(WebTool.persistent_id, func.max(WebTool.version).label("version"))
            .where(WebTool.project_id == project_id)
            .group_by(WebTool.persistent_id).subquery())


def _listed(principal: Principal, voice_agent_id: str | None) -> Select[tuple[WebTool]]:
    """Latest versions; for an agent, the version it uses (pinned, else the latest)."""
    latest = _latest(principal.project_id)
    joined = and_(WebTool.persistent_id == latest.c.persistent_id,
                  WebTool.version == latest.c.version)
    if voice_agent_id is None:
        return select(WebTool).join(latest, joined).where(
            WebTool.project_id == principal.project_id)
    link = VoiceAgentWebTool
    return (select(WebTool)
            .join(link, and_(link.agent_id == voice_agent_id,
                             link.persistent_id == WebTool.persistent_id))
            .outerjoin(latest, joined)
            .where(WebTool.project_id == principal.project_id,
                   or_(WebTool.version == link.version,
                       and_(link.version.is_(None), latest.c.version.is_not(None)))))


def list_web_tools(session: Session, principal: Principal, query: ToolQuery
                   ) -> tuple[list[WebTool], int, int]:
    """One page of the project's tools (latest versions), the project's count of tools, and
    the count after filters."""
    count = select(func.count())
    total = session.scalar(count.select_from(_listed(principal, None).subquery())) or 0
    filtered = _listed(principal, query.voice_agent_id)
    if query.collection_id is not None:
        in_collection = WebTool.collection_id == query.collection_id
        filtered = filtered.where(or_(in_collection, WebTool.collection_id.is_(None))
                                  if query.return_uncategorized else in_collection)
    elif query.return_uncategorized:
        filtered = filtered.where(WebTool.collection_id.is_(None))
    if query.is_active is not None:
        filtered = filtered.where(WebTool.is_active.is_(query.is_active))
    if query.type:
        filtered = filtered.where(WebTool.type == query.type.upper())
    if query.search:
        filtered = filtered.where(or_(contains(WebTool.name, query.search),
                                      contains(WebTool.description, query.search)))
    matched = session.scalar(count.select_from(filtered.subquery())) or 0
    order = ((VoiceAgentWebTool.position, WebTool.id) if query.voice_agent_id is not None
             else (WebTool.created_at.desc(), WebTool.id))
    rows = session.scalars(filtered.order_by(*order).limit(query.take)
                           .offset((query.page - 1) * query.take)).all()
    return list(rows), total, matched


def function_name(tool: WebTool) -> str:
    """The name the LLM calls the tool by: the tool's name in letters, digits, ``_`` and ``-``
    (at most 64), or ``tool_`` and its persistentId's start when nothing of the name is left."""
    folded = unicodedata.normalize("NFKD", tool.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", folded).strip("_-")[:64].rstrip("_-")
    return slug or "tool_" + tool.persistent_id.replace("-", "")[:12]


# --- writing ---------------------------------------------------------------------------------


def create_web_tool(session: Session, principal: Principal, fields: ToolFields, *,
                    settings: Settings, secrets: SecretBox) -> WebTool:
    """Version 1 of a new tool, after every check (the serverUrl through the SSRF guard)."""
    if fields.name is UNSET or fields.settings.server_url is UNSET:
        missing = "name" if fields.name is UNSET else URL_FIELD
        raise field_error(missing, "is required")
    tool = WebTool(project_id=principal.project_id, api_key_id=principal.api_key_id,
                   version=1, type="FUNCTION", is_active=True, is_async=False, messages=[],
                   settings={"methodType": "POST"})
    _apply(tool, fields, {}, settings=settings, secrets=secrets)
    session.add(tool)
    session.flush()
    return tool


def update_web_tool(session: Session, principal: Principal, ref: str, fields: ToolFields, *,
                    settings: Settings, secrets: SecretBox) -> WebTool:
    """The next version: the latest one with the fields sent replaced."""
    latest = get_web_tool(session, principal, get_web_tool(session, principal, ref).persistent_id)
    tool = WebTool(persistent_id=latest.persistent_id, version=latest.version + 1,
                   project_id=latest.project_id, api_key_id=principal.api_key_id,
                   name=latest.name, type=latest.type, description=latest.description,
                   collection_id=latest.collection_id, is_active=latest.is_active,
                   is_async=latest.is_async, settings=dict(latest.settings),
                   params=latest.params, messages=list(latest.messages))
    stored = _readable_secrets(latest, secrets)
    _apply(tool, fields, stored, settings=settings, secrets=secrets)
    session.add(tool)
    try:
        session.flush()
    except IntegrityError as exc:  # another update took this version number first
        raise Conflict("The web tool was updated at the same time; send the update "
                       "again") from exc
    return tool


def delete_web_tool(session: Session, principal: Principal, ref: str) -> tuple[str, int]:
    """Every version of the tool and every agent's link to it; (persistentId, versions)."""
    persistent_id = get_web_tool(session, principal, ref).persistent_id
    session.execute(delete(VoiceAgentWebTool)
                    .where(VoiceAgentWebTool.persistent_id == persistent_id))
    removed = session.execute(delete(WebTool).where(
        WebTool.project_id == principal.project_id, WebTool.persistent_id == persistent_id))
    return persistent_id, int(removed.rowcount or 0)  # type: ignore[attr-defined]


def _readable_secrets(tool: WebTool, secrets: SecretBox) -> dict[str, str]:
    """The secrets an update carries over: after a change of HAMS_SECRET_KEY the old ones
    cannot be opened and read as unset, so the tool stays editable and they can be set again.
    (A call opens them strictly: SealedSecretUnreadable, 503.)"""
    try:
        return secrets.open_fields(tool.sealed_secrets)
    except SealedSecretUnreadable:
        log.warning("web tool %s: its stored secrets cannot be read with this server's key; "
                    "they read as unset until set again", tool.id)
        return {}


def _apply(tool: WebTool, fields: ToolFields, stored_secrets: dict[str, str], *,
           settings: Settings, secrets: SecretBox) -> None:
    """Check each field sent and write it on ``tool``; the secrets are sealed again whole."""
    if fields.name is not UNSET:
        tool.name = fields.name
    if fields.type is not UNSET:
        tool.type = _choice("type", fields.type, TYPES)
    for name in ("description", "collection_id", "is_active", "is_async"):
        if getattr(fields, name) is not UNSET:
            setattr(tool, name, getattr(fields, name))
    if fields.params is not UNSET:
        tool.params = check_params(fields.params)
    if fields.messages is not UNSET:
        tool.messages = _check_messages(fields.messages)
    kept = dict(stored_secrets)
    tool.settings = _apply_settings(dict(tool.settings), fields.settings, kept,
                                    settings=settings)
    tool.sealed_secrets = secrets.seal_fields(kept)


def _apply_settings(current: dict[str, Any], sent: ToolSettingsFields, kept: dict[str, str],
                    *, settings: Settings) -> dict[str, Any]:
    if sent.server_url is not UNSET:
        current["serverUrl"] = check_server_url(sent.server_url, settings)
    if sent.method_type is not UNSET:
        current["methodType"] = _choice("toolSettings.methodType", sent.method_type, METHODS)
    if sent.timeout is not UNSET:
        current["timeout"] = None if sent.timeout is None else timeout_ms(sent.timeout)
    if sent.path_parameters is not UNSET:
        current["pathParameters"] = dict(sent.path_parameters or {})
    if sent.auth_token is not UNSET and not is_masked(sent.auth_token):
        if sent.auth_token and not _header_safe(sent.auth_token):
            raise field_error("toolSettings.authToken", "must be printable ASCII (it is sent as a "
                              "header)")
        kept.pop("authToken", None)
        if sent.auth_token:
            kept["authToken"] = sent.auth_token
    if sent.http_headers is not UNSET:
        current["httpHeaders"], current["secretHeaders"] = _apply_headers(
            sent.http_headers or {}, kept)
    secret_names = current.get("secretHeaders") or []
    lost = {name for name in secret_names if f"header:{name}" not in kept}  # unreadable
    if lost:
        current["httpHeaders"] = {k: v for k, v in current["httpHeaders"].items()
                                  if k not in lost}
        current["secretHeaders"] = [name for name in secret_names if name not in lost]
    current["authToken"] = mask(kept.get("authToken"))
    return current


def _choice(field_name: str, value: str, allowed: tuple[str, ...]) -> str:
    upper = value.strip().upper()
    if upper not in allowed:
        raise field_error(field_name, f"must be one of {', '.join(allowed)} (got {value!r})")
    return upper


def timeout_ms(value: float) -> int:
    """Milliseconds from a timeout as sent: up to SECONDS_UP_TO it is seconds."""
    milliseconds = value * 1000 if value <= SECONDS_UP_TO else value
    if not 0 < milliseconds <= MAX_TIMEOUT_MS:
        raise field_error("toolSettings.timeOut", "must be more than 0 and at most 120 seconds "
                          "(values up to 120 are seconds, larger ones milliseconds)")
    return max(1, round(milliseconds))


def check_server_url(url: str, settings: Settings) -> str:
    """An http(s) URL the SSRF guard lets through, ``{name}`` placeholders only in its path
    and query (a value never chooses the host)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise UrlRefused.at_field(URL_FIELD, f"is not a valid URL ({exc})") from exc
    if "{" in parts.netloc or "}" in parts.netloc:
        raise UrlRefused.at_field(URL_FIELD, "placeholders such as {name} may appear only in "
                                  "the path or the query, never in the host")
    try:
        check_url(PLACEHOLDER.sub("x", url), url_policy(settings), purpose=URL_FIELD)
    except UrlRefused as exc:
        raise UrlRefused.at_field(URL_FIELD, exc.message.removeprefix(URL_FIELD + " ")) from exc
    return url


def _apply_headers(sent: Mapping[str, str], kept: dict[str, str]
                   ) -> tuple[dict[str, str], list[str]]:
    """(the headers as shown, credential values masked; the names of those) — their values
    go to ``kept`` (sealed), a masked value sent back keeps the stored one."""
    field_name = "toolSettings.httpHeaders"
    previous = {k.removeprefix("header:").lower(): v for k, v in kept.items()
                if k.startswith("header:")}
    for key in [k for k in kept if k.startswith("header:")]:
        del kept[key]
    shown: dict[str, str] = {}
    secret_names: list[str] = []
    seen: set[str] = set()
    for name, value in sent.items():
        lower = name.lower()
        if not HEADER_NAME.fullmatch(name):
            raise field_error(field_name, f"{name!r} is not a valid header name")
        if lower in FORBIDDEN_HEADERS:
            raise field_error(field_name, f"{name} is set by hams, not by the tool")
        if lower in seen:
            raise field_error(field_name, f"{name} is given twice")
        seen.add(lower)
        secret = lower in SECRET_HEADERS
        if secret and is_masked(value):  # sent back as it was read: keep the stored value
            if lower not in previous:
                raise field_error(field_name, f"{name} was sent masked but no value is stored; "
                                  "send the value itself")
            value = previous[lower]
        if not _header_safe(value):
            raise field_error(field_name, f"the value of {name} must be printable ASCII, without "
                              "line breaks")
        if not secret:
            shown[name] = value
            continue
        kept[f"header:{name}"] = value
        shown[name] = mask(value) or "…"
        secret_names.append(name)
    return shown, secret_names


def _header_safe(value: str) -> bool:
    """What an HTTP header value may hold: printable ASCII, spaces and tabs."""
    return all(" " <= c <= "~" or c == "\t" for c in value)


def check_json(field_name: str, value: Any, *, limit: int | None = None) -> None:
    """Refuse JSON that nests too deep, is too long or holds NaN/Infinity (no JSON at all:
    PostgreSQL refuses it, and a tool's server could not read it)."""
    if _depth(value, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
        raise field_error(field_name, f"nests deeper than {MAX_SCHEMA_DEPTH} levels")
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError as exc:
        raise field_error(field_name, "numbers must be finite (no NaN or Infinity)") from exc
    if limit is not None and len(text) > limit:
        raise field_error(field_name, f"is longer than {limit} characters")


def _check_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    types = [m["type"] for m in messages]
    if len(set(types)) != len(types):
        raise field_error("messages", "each message type may appear once")
    return [{"type": m["type"], "content": m["content"]} for m in messages]


def _depth(value: Any, limit: int) -> int:
    """How deep a JSON value nests, counting no further than ``limit`` + 1."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            return level
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _refuse_remote(uri: str) -> Any:
    raise ValueError(f"{uri}: only references within the schema itself are followed")


def params_validator(params: dict[str, Any]) -> Any:
    """A validator for a tool's ``params`` that follows no reference outside the schema."""
    return jsonschema_rs.validator_for(params, retriever=_refuse_remote)


def check_params(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """A JSON Schema (its draft's metaschema, 2020-12 unless ``$schema`` says otherwise) of
    type object, with references only within itself."""
    if params is None:
        return None
    check_json("params", params, limit=MAX_SCHEMA_CHARS)
    try:
        jsonschema_rs.meta.validate(params)
        params_validator(params)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        reason = str(getattr(exc, "message", exc)).split("\n", 1)[0]
        raise field_error("params", f"is not a valid JSON Schema ({reason})") from exc
    if params.get("type") != "object":
        raise field_error("params", 'must be a JSON Schema of "type": "object" (the arguments '
                          "the agent passes)")
    return params
