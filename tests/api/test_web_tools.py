"""Web tools in-process on a real database: versions, lists, ownership, validation, the URL
guard at creation and at call time, secrets at rest, and the test call against a real HTTP
server on 127.0.0.1: its answers, and its bounds (a shorter timeout, a few at once) that keep
the threadpool of the sync routes free."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hams.app import create_app
from hams.db.models import VoiceAgent, VoiceAgentWebTool, WebTool
from hams.media.fetch import DeliveryError
from hams.runtime import Runtime
from hams.services import web_tool_calls
from hams.services.web_tools import get_web_tool
from tests.conftest import built_runtime
from tests.factories import api_client
from tests.helpers.server import free_port

V1, V2 = "/v1/voice-agents/web-tool", "/v2/voice-agents/web-tool"
TOKEN = "tok-0123456789abcdefSECRET"
HEADER_SECRET = "Bearer header-secret-value-9876"
BIG = 1024 * 1024  # over the default 64 KiB a tool's answer is cut at


class EchoServer(ThreadingHTTPServer):
    """Answers ``/echo…`` with what it received; ``/big``, ``/slow``, ``/fail`` play others;
    ``/hold`` tells ``held`` it arrived, then answers when ``gate`` opens."""

    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), EchoHandler)
        self.stopping = threading.Event()
        self.received: list[dict[str, Any]] = []
        self.held = threading.Semaphore(0)
        self.gate = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (the timeout test) is expected; keep test output quiet."""


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EchoServer

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        seen = {"method": self.command, "path": url.path, "query": parse_qs(url.query),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode()}
        self.server.received.append(seen)
        if url.path.startswith("/echo"):
            self.send(200, json.dumps(seen).encode(), "application/json; charset=utf-8")
        elif url.path == "/big":
            self.send(200, b"x" * BIG, "text/plain")
        elif url.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/fail":
            self.send(503, b'{"error": "down"}', "application/json")
        elif url.path == "/slow":
            self.server.stopping.wait(10)
            self.send(200, b"late", "text/plain")
        elif url.path == "/hold":
            self.server.held.release()
            self.server.gate.wait(30)
            self.send(200, b"released", "text/plain")
        else:
            self.send(404, b"no such path", "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any  # noqa: N815


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def tool_body(url: str, **extra: Any) -> dict[str, Any]:
    settings = {"serverUrl": url, "methodType": "POST", "timeOut": 5,
                **extra.pop("toolSettings", {})}
    return {"type": "FUNCTION", "name": "get_weather", "description": "Weather for a city",
            "async": False, "toolSettings": settings,
            "messages": [{"type": "REQUEST_START", "content": "لحظة من فضلك"}],
            "params": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}, **extra}


def create(api: TestClient, url: str, path: str = V2, **extra: Any) -> dict[str, Any]:
    response = api.post(path, json=tool_body(url, **extra))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def fault(response: Any, status: int = 400) -> tuple[str, list[str]]:
    """(messageKey, the fields named in data) of an error answer."""
    assert response.status_code == status, response.text
    envelope = response.json()
    assert envelope["success"] is False
    return envelope["messageKey"], [f["field"] for f in envelope["data"] or []]


@pytest.fixture
def strict(runtime: Runtime, tmp_path: Any, api: TestClient) -> Iterator[TestClient]:
    """The same database and key as ``api``, on a server whose URL guard refuses private
    addresses (as a production server does)."""
    with built_runtime(tmp_path / "strict", database_url=runtime.settings.database_url,
                       allow_private_urls=False) as rt, TestClient(
            create_app(rt.settings, runtime=rt), headers=dict(api.headers)) as client:
        yield client


# --- create, read, versions ------------------------------------------------------------------


def test_create_v2_answers_the_tool_with_its_message_key(api, echo):
    response = api.post(V2, json=tool_body(echo.url("/echo"), toolSettings={
        "methodType": "get", "authToken": TOKEN, "timeOut": 15,
        "httpHeaders": {"X-Tenant": "acme"}, "pathParameters": {"unit": "c"}}))
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert (envelope["success"], envelope["messageKey"]) == (True, "WebToolCreatedSuccessfully")
    data = envelope["data"]
    assert data["version"] == 1 and data["persistentId"] != data["id"]
    assert (data["name"], data["functionName"], data["type"]) == (
        "get_weather", "get_weather", "FUNCTION")
    assert (data["projectId"], data["isActive"], data["async"]) == (
        api.project.id, True, False)
    settings = data["toolSettings"]
    assert settings["methodType"] == "GET" and settings["serverUrl"] == echo.url("/echo")
    assert (settings["timeout"], settings["timeOut"]) == (15000, 15)
    assert settings["authToken"] == "tok-…CRET"
    assert settings["httpHeaders"] == {"X-Tenant": "acme"}
    assert settings["pathParameters"] == {"unit": "c"}
    assert data["messages"] == [{"type": "REQUEST_START", "content": "لحظة من فضلك"}]
    assert data["params"]["required"] == ["city"]


def test_create_v1_keeps_its_message_types_and_reads_milliseconds(api, echo):
    data = create(api, echo.url("/echo"), path=V1, name="Weather API Tool",
                  messages=[{"type": "system", "content": "You are a weather assistant."}],
                  toolSettings={"timeout": 5000})
    assert data["messages"] == [{"type": "system", "content": "You are a weather assistant."}]
    assert (data["toolSettings"]["timeout"], data["toolSettings"]["timeOut"]) == (5000, 5)
    assert data["name"] == "Weather API Tool" and data["functionName"] == "Weather_API_Tool"
    assert data["toolSettings"]["authToken"] is None
    arabic = create(api, echo.url("/echo"), name="أداة الطقس")
    assert arabic["functionName"] == "tool_" + arabic["persistentId"].replace("-", "")[:12]


def test_get_by_version_id_by_persistent_id_and_by_version(api, echo):
    first = create(api, echo.url("/echo"))
    second = api.patch(f"{V1}/{first['id']}", json={"description": "v2"}).json()["data"]
    for path in (V1, V2):
        by_id = api.get(f"{path}/{first['id']}").json()["data"]
        assert (by_id["id"], by_id["version"]) == (first["id"], 1)
        latest = api.get(f"{path}/{first['persistentId']}").json()["data"]
        assert (latest["id"], latest["version"]) == (second["id"], 2)
        pinned = api.get(f"{path}/{first['persistentId']}", params={"version": "1"})
        assert pinned.json()["data"]["id"] == first["id"]
        other = api.get(f"{path}/{second['id']}", params={"version": 1}).json()["data"]
        assert other["id"] == first["id"]
    assert fault(api.get(f"{V1}/{first['persistentId']}", params={"version": 3}), 404)[0] == (
        "NOT_FOUND")


def test_update_adds_a_version_and_carries_over_what_is_not_sent(api, echo):
    first = create(api, echo.url("/echo"), collectionId="weather", toolSettings={
        "authToken": TOKEN, "httpHeaders": {"X-Tenant": "acme"}})
    response = api.patch(f"{V2}/{first['persistentId']}", json={
        "name": "get_forecast", "isActive": False,
        "toolSettings": {"methodType": "put", "authToken": first["toolSettings"]["authToken"]}})
    assert response.status_code == 200, response.text
    assert response.json()["messageKey"] == "WebToolUpdatedSuccessfully"
    second = response.json()["data"]
    assert second["persistentId"] == first["persistentId"] and second["id"] != first["id"]
    assert (second["version"], second["name"], second["isActive"]) == (2, "get_forecast", False)
    assert second["collectionId"] == "weather" and second["params"] == first["params"]
    assert second["messages"] == first["messages"]
    assert second["toolSettings"] == {**first["toolSettings"], "methodType": "PUT"}
    assert api.get(f"{V1}/{first['id']}").json()["data"] == first  # version 1 unchanged
    called = api.post(f"{V2}/{second['id']}/test", json={"arguments": {"city": "Cairo"}})
    echoed = json.loads(called.json()["data"]["body"])
    assert echoed["method"] == "PUT"
    assert echoed["headers"]["authorization"] == f"Bearer {TOKEN}"  # the masked value kept it
    third = api.patch(f"{V1}/{first['id']}", json={
        "description": None, "toolSettings": {"authToken": None, "timeOut": None}}).json()["data"]
    assert third["version"] == 3 and third["description"] is None
    assert third["toolSettings"]["authToken"] is None
    assert (third["toolSettings"]["timeout"], third["toolSettings"]["timeOut"]) == (None, None)


def test_delete_removes_every_version_and_the_agents_links(api, runtime, echo):
    first = create(api, echo.url("/echo"))
    api.patch(f"{V2}/{first['id']}", json={"description": "again"})
    kept = create(api, echo.url("/echo"), name="kept")
    with runtime.db.session() as session:
        agent = VoiceAgent(project_id=api.project.id, name="agent")
        session.add(agent)
        session.flush()
        session.add_all([VoiceAgentWebTool(agent_id=agent.id, persistent_id=first["persistentId"]),
                         VoiceAgentWebTool(agent_id=agent.id, persistent_id=kept["persistentId"],
                                           position=1)])
    response = api.delete(f"{V1}/{first['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"id": first["id"], "persistentId": first["persistentId"],
                                       "deletedVersions": 2}
    for ref in (first["id"], first["persistentId"]):
        assert fault(api.get(f"{V2}/{ref}"), 404)[0] == "NOT_FOUND"
    assert fault(api.delete(f"{V2}/{first['persistentId']}"), 404)[0] == "NOT_FOUND"
    with runtime.db.session() as session:
        assert session.scalars(select(WebTool.persistent_id)).all() == [kept["persistentId"]]
        links = session.scalars(select(VoiceAgentWebTool.persistent_id)).all()
        assert links == [kept["persistentId"]]


def test_another_projects_tool_is_not_found(api, runtime, echo):
    theirs = create(api, echo.url("/echo"))
    count = len(echo.received)
    with api_client(runtime) as other:
        for ref in (theirs["id"], theirs["persistentId"]):
            for response in (other.get(f"{V1}/{ref}"), other.get(f"{V2}/{ref}"),
                             other.patch(f"{V2}/{ref}", json={"name": "mine"}),
                             other.delete(f"{V1}/{ref}"),
                             other.post(f"{V2}/{ref}/test", json={"arguments": {"city": "x"}})):
                assert fault(response, 404)[0] == "NOT_FOUND"
                assert "get_weather" not in response.text
        listed = other.get(f"{V2}/list").json()["data"]
        assert listed == {"total": 0, "filtered": 0, "items": []}
    assert api.get(f"{V1}/{theirs['id']}").json()["data"]["version"] == 1
    assert len(echo.received) == count  # no call was made for them


# --- lists -----------------------------------------------------------------------------------


def test_list_pages_by_page_number_and_shows_latest_versions(api, echo):
    made = [create(api, echo.url("/echo"), name=f"tool_{i}") for i in range(5)]
    api.patch(f"{V2}/{made[0]['id']}", json={"description": "updated"})
    for path in (V1, V2):
        page = api.get(f"{path}/list", params={"skip": "2", "take": "2"}).json()["data"]
        assert (page["total"], page["filtered"]) == (5, 5)
        assert len(page["items"]) == 2
        everything = api.get(f"{path}/list", params={"take": 10}).json()["data"]["items"]
        assert len(everything) == 5 and len({t["persistentId"] for t in everything}) == 5
        assert {t["version"] for t in everything if t["persistentId"] ==
                made[0]["persistentId"]} == {2}
        names = [t["name"] for t in everything]
        assert [t["name"] for t in page["items"]] == names[2:4]
        assert api.get(f"{path}/list", params={"skip": 0, "take": 2}).json()["data"][
            "items"] == everything[:2]
        assert api.get(f"{path}/list", params={"skip": 3, "take": 2}).json()["data"][
            "items"] == everything[4:]
    assert fault(api.get(f"{V2}/list", params={"take": 0}))[1] == ["take"]
    assert fault(api.get(f"{V2}/list", params={"skip": "first"}))[1] == ["skip"]


def test_v2_list_filters(api, runtime, echo):
    a = create(api, echo.url("/echo"), name="weather", collectionId="c1")
    b = create(api, echo.url("/echo"), name="calendar", collectionId="c2",
               description="Books a weather-proof meeting")
    c = create(api, echo.url("/echo"), name="crm_lookup", description="Customer records")
    api.patch(f"{V2}/{c['id']}", json={"isActive": False})
    with runtime.db.session() as session:
        agent = VoiceAgent(project_id=api.project.id, name="agent")
        session.add(agent)
        session.flush()
        session.add_all([
            VoiceAgentWebTool(agent_id=agent.id, persistent_id=c["persistentId"], version=1),
            VoiceAgentWebTool(agent_id=agent.id, persistent_id=a["persistentId"], position=1)])
        agent_id = agent.id

    def names(**params: Any) -> list[str]:
        data = api.get(f"{V2}/list", params=params).json()["data"]
        assert data["total"] == 3 and data["filtered"] == len(data["items"])
        return sorted(t["name"] for t in data["items"])

    assert names(collectionId="c1") == ["weather"]
    assert names(collectionId="c1", returnUncategorized="true") == ["crm_lookup", "weather"]
    assert names(returnUncategorized="true") == ["crm_lookup"]
    assert names(isActive="false") == ["crm_lookup"]
    assert names(isActive="true") == ["calendar", "weather"]
    assert names(search="WEATHER") == ["calendar", "weather"]  # name or description
    assert names(search="100%") == []
    assert names(type="function") == ["calendar", "crm_lookup", "weather"]
    assert names(type="MCP") == []
    linked = api.get(f"{V2}/list", params={"voiceAgentId": agent_id}).json()["data"]["items"]
    assert [(t["name"], t["version"]) for t in linked] == [("crm_lookup", 1), ("weather", 1)]
    assert names(voiceAgentId="no-such-agent") == []
    assert b["id"] not in {t["id"] for t in linked}


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("params, reason", [
    ({"type": "object", "properties": {"city": {"type": "text"}}}, "not a valid JSON Schema"),
    ({"type": "object", "required": "city"}, "not a valid JSON Schema"),
    ({"type": "string"}, '"type": "object"'),
    ({"properties": {"city": {"type": "string"}}}, '"type": "object"'),
    ({"type": "object", "properties": {"a": {"$ref": "http://169.254.169.254/s.json"}}},
     "not a valid JSON Schema"),
    ({"type": "object", "properties": {"a": {"type": "string", "pattern": "("}}},
     "not a valid JSON Schema"),
])
def test_a_bad_params_schema_is_a_400_naming_params(api, echo, params, reason):
    response = api.post(V2, json=tool_body(echo.url("/echo"), params=params))
    assert fault(response) == ("VALIDATION_ERROR", ["params"])
    assert reason in response.json()["message"]
    first = create(api, echo.url("/echo"))
    assert fault(api.patch(f"{V2}/{first['id']}", json={"params": params}))[1] == ["params"]


@pytest.mark.parametrize("change, field", [
    ({"name": ""}, "name"),
    ({"name": "two\nlines"}, "name"),
    ({"name": "x" * 251}, "name"),
    ({"type": "MCP"}, "type"),
    ({"toolSettings": {"methodType": "TRACE"}}, "toolSettings.methodType"),
    ({"toolSettings": {"timeOut": 0}}, "toolSettings.timeOut"),
    ({"toolSettings": {"timeOut": 120001}}, "toolSettings.timeOut"),
    ({"toolSettings": {"timeout": -5}}, "toolSettings.timeout"),
    ({"toolSettings": {"httpHeaders": {"X-A": "one\r\nX-B: two"}}}, "toolSettings.httpHeaders"),
    ({"toolSettings": {"httpHeaders": {"Bad Name": "v"}}}, "toolSettings.httpHeaders"),
    ({"toolSettings": {"httpHeaders": {"Host": "example.com"}}}, "toolSettings.httpHeaders"),
    ({"toolSettings": {"authToken": "a\nb"}}, "toolSettings.authToken"),
    ({"toolSettings": {"authToken": "tök-0123456789"}}, "toolSettings.authToken"),
    ({"toolSettings": {"httpHeaders": {"X-City": "القاهرة"}}}, "toolSettings.httpHeaders"),
    ({"toolSettings": {"serverUrl": "ftp://example.com/x"}}, "toolSettings.serverUrl"),
    ({"toolSettings": {"serverUrl": "http://[::1"}}, "toolSettings.serverUrl"),
    ({"toolSettings": {"serverUrl": "http://{host}.example.com/x"}}, "toolSettings.serverUrl"),
    ({"messages": [{"type": "REQUEST_START", "content": "a"},
                   {"type": "REQUEST_START", "content": "b"}]}, "messages"),
])
def test_invalid_fields_are_a_400_naming_them(api, echo, change, field):
    body = tool_body(echo.url("/echo"))
    body.update({k: v for k, v in change.items() if k != "toolSettings"})
    body["toolSettings"].update(change.get("toolSettings", {}))
    response = api.post(V1, json=body)
    assert response.status_code == 400, response.text
    assert fault(response)[1] == [field]


def test_create_requires_a_name_and_a_server_url(api, echo):
    body = tool_body(echo.url("/echo"))
    del body["name"]
    assert fault(api.post(V2, json=body))[1] == ["name"]
    assert fault(api.post(V2, json={"name": "x", "toolSettings": {}}))[1] == [
        "toolSettings.serverUrl"]
    assert fault(api.get(f"{V2}/not%20an%20id"))[0] == "VALIDATION_ERROR"


# --- the URL guard ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost:9/hook",
                                 "http://10.0.0.7/hook", "http://169.254.169.254/latest",
                                 "http://[::ffff:127.0.0.1]/x"])
def test_a_private_server_url_is_refused_at_creation(strict, url):
    response = strict.post(V2, json=tool_body(url))
    assert fault(response) == ("URL_REFUSED", ["toolSettings.serverUrl"])
    assert response.json()["message"].startswith("toolSettings.serverUrl: resolves to a")


def test_a_private_server_url_is_refused_at_update(api, strict, echo):
    first = create(api, echo.url("/echo"))
    response = strict.patch(f"{V2}/{first['id']}", json={
        "toolSettings": {"serverUrl": "http://10.1.1.1/"}})
    assert fault(response) == ("URL_REFUSED", ["toolSettings.serverUrl"])


def test_the_url_is_checked_again_at_call_time(api, strict, echo):
    tool = create(api, echo.url("/echo"))  # allowed where it was created
    count = len(echo.received)
    response = strict.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "Cairo"}})
    assert fault(response)[0] == "URL_REFUSED"
    assert "loopback" in response.json()["message"]
    assert len(echo.received) == count
    assert strict.get(f"{V2}/{tool['id']}").status_code == 200  # reading it is fine


# --- the test call ---------------------------------------------------------------------------


def test_post_tool_sends_path_parameters_a_json_body_and_the_token(api, echo):
    tool = create(api, echo.url("/echo/{city}/{unit}?src=hams"), toolSettings={
        "authToken": TOKEN, "httpHeaders": {"X-Tenant": "acme"},
        "pathParameters": {"unit": "metric"}},
        params={"type": "object", "properties": {"city": {"type": "string"},
                                                 "days": {"type": "integer"}},
                "required": ["city"]})
    response = api.post(f"{V1}/{tool['id']}/test",
                        json={"arguments": {"city": "New York/East", "days": 3}})
    assert response.status_code == 200, response.text
    result = response.json()["data"]
    assert (result["status"], result["ok"], result["truncated"], result["error"]) == (
        200, True, False, None)
    assert result["method"] == "POST" and result["latencyMs"] >= 0
    assert result["contentType"] == "application/json; charset=utf-8"
    assert result["url"] == echo.url("/echo/New%20York%2FEast/metric?src=hams")
    echoed = json.loads(result["body"])
    assert (echoed["method"], echoed["path"]) == ("POST", "/echo/New%20York%2FEast/metric")
    assert echoed["query"] == {"src": ["hams"]}
    assert json.loads(echoed["body"]) == {"days": 3}  # what the path did not use
    headers = echoed["headers"]
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-tenant"] == "acme" and headers["content-type"] == "application/json"


def test_get_tool_sends_the_arguments_as_the_query(api, echo):
    tool = create(api, echo.url("/echo"), toolSettings={
        "methodType": "GET", "authToken": "Basic dXNlcjpwYXNz"},
        params={"type": "object", "properties": {"city": {"type": "string"},
                                                 "tags": {"type": "array"},
                                                 "exact": {"type": "boolean"}}})
    for arguments_key in ("arguments", "params", "args"):
        result = api.post(f"{V2}/{tool['persistentId']}/test", json={
            arguments_key: {"city": "القاهرة", "tags": ["a", "b"], "exact": True}}).json()["data"]
        echoed = json.loads(result["body"])
        assert (echoed["method"], echoed["body"]) == ("GET", "")
        assert echoed["query"] == {"city": ["القاهرة"], "tags": ["a", "b"], "exact": ["true"]}
        assert echoed["headers"]["authorization"] == "Basic dXNlcjpwYXNz"
    no_body = api.post(f"{V2}/{tool['id']}/test").json()["data"]
    assert json.loads(no_body["body"])["query"] == {}


def test_the_arguments_are_checked_against_params(api, echo):
    tool = create(api, echo.url("/echo"))
    count = len(echo.received)
    response = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": 7}})
    assert fault(response) == ("VALIDATION_ERROR", ["arguments.city"])
    assert fault(api.post(f"{V2}/{tool['id']}/test", json={"arguments": {}}))[1] == ["arguments"]
    assert len(echo.received) == count


def test_a_long_answer_is_cut_at_the_limit(api, runtime, echo):
    tool = create(api, echo.url("/big"), toolSettings={"methodType": "DELETE"})
    result = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}}).json()["data"]
    limit = runtime.settings.web_tool_max_response_bytes
    assert (result["status"], result["ok"], result["truncated"]) == (200, True, True)
    assert result["body"] == "x" * limit
    assert echo.received[-1]["method"] == "DELETE"


def test_an_error_answer_is_reported_not_raised(api, echo):
    tool = create(api, echo.url("/fail"))
    result = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}}).json()["data"]
    assert (result["status"], result["ok"]) == (503, False)
    assert json.loads(result["body"]) == {"error": "down"}
    assert "503" in result["error"]


def test_a_timeout_is_an_answer_with_ok_false(api, echo):
    tool = create(api, echo.url("/slow"), toolSettings={"timeOut": 0.3})
    response = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}})
    assert response.status_code == 200, response.text
    result = response.json()["data"]
    assert (result["ok"], result["status"], result["body"]) == (False, None, None)
    assert "timed out" in result["error"]


def test_a_refused_connection_is_an_answer_with_ok_false(api):
    tool = create(api, f"http://127.0.0.1:{free_port()}/gone")
    result = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}}).json()["data"]
    assert (result["ok"], result["status"]) == (False, None)
    assert "could not be reached" in result["error"]


def test_a_redirect_is_answered_not_followed(api, echo):
    tool = create(api, echo.url("/moved"))
    count = len(echo.received)
    result = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}}).json()["data"]
    assert (result["status"], result["ok"], result["body"]) == (302, False, "")
    assert result["error"].endswith("answered HTTP 302 (a redirect, not followed)")
    assert len(echo.received) == count + 1


def test_json_that_is_not_json_is_a_400(api, echo):
    tool = create(api, echo.url("/echo"))
    nan = '{"arguments": {"city": "x", "n": NaN}}'
    response = api.post(f"{V2}/{tool['id']}/test", content=nan,
                        headers={"Content-Type": "application/json"})
    assert fault(response)[1] == ["arguments"]
    body = json.dumps(tool_body(echo.url("/echo"))).replace('"required"', '"maximum": Infinity, '
                                                             '"required"')
    response = api.post(V2, content=body, headers={"Content-Type": "application/json"})
    assert fault(response)[1] == ["params"]


def test_a_path_placeholder_without_a_value_is_a_400(api, echo):
    tool = create(api, echo.url("/echo/{order_id}"))
    response = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}})
    assert fault(response)[1] == ["arguments.order_id"]


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_are_never_answered_nor_stored_in_the_clear(api, runtime, echo):
    answers = []
    created = api.post(V2, json=tool_body(echo.url("/echo"), toolSettings={
        "authToken": TOKEN, "httpHeaders": {"Authorization": HEADER_SECRET, "X-Plain": "p"}}))
    answers.append(created)
    tool = created.json()["data"]
    assert tool["toolSettings"]["httpHeaders"] == {"Authorization": "…9876", "X-Plain": "p"}
    answers += [api.get(f"{V1}/{tool['id']}"), api.get(f"{V2}/list"),
                api.patch(f"{V2}/{tool['id']}", json={"toolSettings": {
                    "httpHeaders": tool["toolSettings"]["httpHeaders"]}})]
    answers.append(api.get(f"{V2}/{tool['persistentId']}"))
    for response in answers:
        assert response.status_code == 200, response.text
        assert TOKEN not in response.text and HEADER_SECRET not in response.text
        assert "SECRET" not in response.text and "header-secret" not in response.text
    # the masked header sent back kept its value; the authToken overrides it on the wire
    echoed = json.loads(api.post(f"{V2}/{tool['persistentId']}/test",
                                 json={"arguments": {"city": "x"}}).json()["data"]["body"])
    assert echoed["headers"]["authorization"] == f"Bearer {TOKEN}"
    api.patch(f"{V2}/{tool['id']}", json={"toolSettings": {"authToken": ""}})
    echoed = json.loads(api.post(f"{V2}/{tool['persistentId']}/test",
                                 json={"arguments": {"city": "x"}}).json()["data"]["body"])
    assert echoed["headers"]["authorization"] == HEADER_SECRET
    with runtime.db.session() as session:
        rows = session.scalars(select(WebTool).where(
            WebTool.persistent_id == tool["persistentId"]).order_by(WebTool.version)).all()
        assert len(rows) == 3
        for row in rows:
            stored = json.dumps(row.settings) + (row.sealed_secrets or "")
            assert TOKEN not in stored and HEADER_SECRET not in stored
            assert "header-secret" not in stored and "SECRET" not in stored
            assert row.sealed_secrets and row.sealed_secrets.startswith("v1:")
        assert runtime.secrets.open_fields(rows[0].sealed_secrets) == {
            "authToken": TOKEN, "header:Authorization": HEADER_SECRET}


def test_secrets_sealed_under_another_key_fail_the_call_but_not_the_tool(api, runtime, echo,
                                                                        tmp_path):
    tool = create(api, echo.url("/echo"), toolSettings={
        "authToken": TOKEN, "httpHeaders": {"X-Api-Key": HEADER_SECRET, "X-Plain": "p"}})
    with built_runtime(tmp_path / "rekeyed", database_url=runtime.settings.database_url,
                       secret_key="another-server-key-" + "k" * 32) as rt, TestClient(
            create_app(rt.settings, runtime=rt), headers=dict(api.headers)) as rekeyed:
        assert rekeyed.get(f"{V2}/{tool['id']}").json()["data"] == tool
        call = rekeyed.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}})
        assert fault(call, 503)[0] == "SECRET_UNREADABLE"
        updated = rekeyed.patch(f"{V2}/{tool['id']}", json={"description": "rekeyed"})
        assert updated.status_code == 200, updated.text
        settings = updated.json()["data"]["toolSettings"]
        assert settings["authToken"] is None  # to be set again
        assert settings["httpHeaders"] == {"X-Plain": "p"}
        rekeyed.patch(f"{V2}/{tool['id']}", json={"toolSettings": {"authToken": "new-token"}})
        echoed = json.loads(rekeyed.post(f"{V2}/{tool['persistentId']}/test", json={
            "arguments": {"city": "x"}}).json()["data"]["body"])
        assert echoed["headers"]["authorization"] == "Bearer new-token"


# --- the test route's bounds -----------------------------------------------------------------


def in_thread(call: Any) -> tuple[threading.Event, dict[str, Any]]:
    """Run ``call()`` on a thread: an event set when it returned, and its answer."""
    done, answer = threading.Event(), {}

    def run() -> None:
        answer["response"] = call()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, answer


def test_test_calls_are_bounded_and_the_api_stays_responsive(api, echo):
    limit = web_tool_calls.TEST_CALLS_AT_ONCE
    tool = create(api, echo.url("/hold"), toolSettings={"timeOut": 60})
    test = f"{V2}/{tool['id']}/test"

    def set_threads(total: int) -> None:  # in the app's event loop
        anyio.to_thread.current_default_thread_limiter().total_tokens = total

    # The shared threadpool only one thread bigger than the test calls allowed at once: an
    # unbounded extra test call would take that last thread and /health would wait behind it.
    api.portal.call(set_threads, limit + 1)
    echo.held, echo.gate = threading.Semaphore(0), threading.Event()
    try:
        calls = [in_thread(lambda: api.post(test, json={"arguments": {"city": "x"}}))
                 for _ in range(limit)]
        for _ in range(limit):
            assert echo.held.acquire(timeout=10), "a test call did not reach the server"
        done, extra = in_thread(lambda: api.post(test, json={"arguments": {"city": "x"}}))
        assert done.wait(10), "the extra test call was not refused while the others hang"
        refused = extra["response"]
        assert (refused.status_code, refused.headers["Retry-After"]) == (429, "5"), refused.text
        assert refused.json()["messageKey"] == "TOO_MANY_REQUESTS"
        assert not echo.held.acquire(blocking=False)  # it never reached the server
        done, health = in_thread(lambda: api.get("/health"))
        assert done.wait(10), "/health waited behind the hanging test calls"
        assert health["response"].status_code == 200
    finally:
        echo.gate.set()
    for done, answer in calls:
        assert done.wait(10)
        result = answer["response"].json()["data"]
        assert (result["ok"], result["body"]) == (True, "released")
    again = api.post(test, json={"arguments": {"city": "x"}})  # the slots were given back
    assert (again.status_code, again.json()["data"]["body"]) == (200, "released")


def test_a_test_call_waits_at_most_the_test_cap_but_call_web_tool_keeps_the_tools(
        api, runtime, echo, monkeypatch):
    waited: list[float] = []

    def guarded(*args: Any, timeout: float, **kwargs: Any) -> Any:
        waited.append(timeout)
        raise DeliveryError("serverUrl timed out")

    monkeypatch.setattr(web_tool_calls, "request_guarded", guarded)
    slow = create(api, echo.url("/echo"), toolSettings={"timeOut": 60})
    quick = create(api, echo.url("/echo"), toolSettings={"timeOut": 5})
    for tool in (slow, quick):
        result = api.post(f"{V2}/{tool['id']}/test", json={"arguments": {"city": "x"}})
        assert result.json()["data"]["error"] == "serverUrl timed out"
    assert waited == [web_tool_calls.TEST_TIMEOUT_SECONDS, 5.0]
    with runtime.db.session() as session:
        record = get_web_tool(session, api.principal, slow["id"], None)
    web_tool_calls.call_web_tool(record, {"city": "x"}, settings=runtime.settings,
                                 secrets=runtime.secrets)
    assert waited[-1] == 60.0  # the conversation runtime's calls are not capped here
