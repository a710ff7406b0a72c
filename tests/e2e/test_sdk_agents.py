"""Voice agents, web tools and the knowledge base through the Python SDK (``client.agents``,
``client.web_tools``, ``client.knowledge_base``), blocking and async, against the real server."""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from hams.client import (
    AsyncHams,
    BadRequestError,
    Hams,
    JobTimeout,
    NotFoundError,
    ServerError,
)
from hams.client.errors import KnowledgeItemTimeout
from hams.client.models import (
    Agent,
    AgentPage,
    KnowledgeItem,
    KnowledgeSearch,
    PhoneNumber,
    WebTool,
    WebToolTestResult,
)


class EchoServer:
    """Answers every request with what it received, as JSON: what a web tool sends."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _echo(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else None
                parts = urlsplit(self.path)
                answer = json.dumps({
                    "method": self.command, "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "json": json.loads(body) if body else None,
                    "authorization": self.headers.get("Authorization"),
                    "x-test": self.headers.get("X-Test")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _echo  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(server):
    with Hams(api_key=server.key, base_url=server.base_url) as sdk:
        yield sdk


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def slug(prefix: str) -> str:
    """A unique name fit for a URL path."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- the namespaces ------------------------------------------------------------------------


def test_both_clients_have_the_same_namespaces_and_methods(client):
    def methods(resource) -> dict[str, list[str]]:
        return {name: list(inspect.signature(getattr(resource, name)).parameters)
                for name in dir(resource) if not name.startswith("_")}

    sync = Hams(api_key="k", base_url="http://127.0.0.1:9")
    asynchronous = AsyncHams(api_key="k", base_url="http://127.0.0.1:9")
    for name in ("agents", "web_tools", "knowledge_base", "phone_numbers"):
        assert methods(getattr(sync, name)) == methods(getattr(asynchronous, name))
        assert getattr(sync, name) is getattr(sync, name)  # made once per client
    assert str(inspect.signature(client.agents.create).return_annotation) == "Agent"
    sync.close()
    asyncio.run(asynchronous.aclose())


# --- agents --------------------------------------------------------------------------------


def test_agent_create_get_list_update_clone_delete(client):
    name = unique("Support")
    agent = client.agents.create(
        name, lang="en", preamble="You answer questions about hams.", greeting="Hello!",
        description="first line", call_settings={"silence_threshold": 500},
        llm={"temperature": 0.5}, voice_dictionary_ids=[])
    assert isinstance(agent, Agent) and agent.id
    assert agent.name == name and agent.lang == "en" and agent.type == "Single Prompt"
    assert agent.preamble == "You answer questions about hams." and agent.greeting == "Hello!"
    assert agent.call_settings.silence_threshold == 500
    assert agent.call_settings.max_call_duration == 300  # the defaults come back
    assert agent.llm.temperature == 0.5 and agent.description == "first line"
    assert agent.voice.voice_id and agent.voice.voice_record["languageCode"] == "en"
    assert agent.model_extra["account"] == {"plan": "self-hosted"}  # unknown fields kept
    assert agent.model_dump(by_alias=True)["callSettings"]["silenceThreshold"] == 500

    assert client.agents.get(agent.id).model_dump() == agent.model_dump()

    page = client.agents.list(search=name, per_page=5)
    assert isinstance(page, AgentPage)
    assert [a.id for a in page.voice_agents] == [agent.id] and page.filtered == 1
    assert page.total >= 1
    assert client.agents.list(search=name, language="ar").voice_agents == []
    assert client.agents.list(search=name, language=["ar", "en"], type="Single Prompt"
                              ).filtered == 1

    changed = client.agents.update(agent.id, greeting="Welcome back!",
                                   call_settings={"interrupt": False}, description=None)
    assert changed.greeting == "Welcome back!"
    assert changed.preamble == "You answer questions about hams."  # the rest of the section
    assert changed.call_settings.interrupt is False
    assert changed.call_settings.silence_threshold == 500
    assert changed.description is None  # sent as null: back to its default

    copy = client.agents.clone(agent.id, name=name + " copy")
    assert copy.id != agent.id and copy.name == name + " copy"
    assert copy.greeting == "Welcome back!" and copy.call_settings.silence_threshold == 500
    default_name = client.agents.clone(agent.id)
    assert default_name.name == f"{name} (copy)"

    for agent_id in (agent.id, copy.id, default_name.id):
        client.agents.delete(agent_id)
    with pytest.raises(NotFoundError):
        client.agents.get(agent.id)
    assert client.agents.list(search=name).filtered == 0


def test_agent_refusals_are_the_error_tree(client):
    with pytest.raises(BadRequestError) as unknown_voice:
        client.agents.create(unique("Bad voice"), voice="No Such Voice")
    assert unknown_voice.value.message_key == "UNKNOWN_VOICE"
    with pytest.raises(BadRequestError) as out_of_range:
        client.agents.create(unique("Bad range"), call_settings={"silence_threshold": 0})
    assert "silenceThreshold" in out_of_range.value.message
    with pytest.raises(NotFoundError):
        client.agents.update(str(uuid.uuid4()), greeting="hi")
    with pytest.raises(NotFoundError):
        client.agents.clone(str(uuid.uuid4()))
    with pytest.raises(NotFoundError):
        client.agents.delete(str(uuid.uuid4()))


def test_agents_through_the_async_client(server):
    async def flow() -> tuple[Agent, Agent, Agent, AgentPage]:
        async with AsyncHams(api_key=server.key, base_url=server.base_url) as sdk:
            name = unique("Async")
            agent = await sdk.agents.create(name, lang="ar", voice={"lang": "ar"},
                                            preamble="أنت مساعد")
            changed = await sdk.agents.update(agent.id, name=name + "!", lang="en")
            copy = await sdk.agents.clone(agent.id)
            page = await sdk.agents.list(search=name, sort_field="name", sort_order="asc")
            await sdk.agents.delete(copy.id)
            await sdk.agents.delete(agent.id)
            with pytest.raises(NotFoundError):
                await sdk.agents.get(agent.id)
            return agent, changed, copy, page

    agent, changed, copy, page = asyncio.run(flow())
    assert agent.lang == "ar" and agent.preamble == "أنت مساعد"
    assert changed.lang == "en" and changed.voice.voice_id != agent.voice.voice_id
    assert copy.name == changed.name + " (copy)"
    assert [a.id for a in page.voice_agents] == [changed.id, copy.id]


# --- phone numbers -------------------------------------------------------------------------


def test_phone_numbers_added_assigned_and_deleted(client):
    digits = str(uuid.uuid4().int)[:8]
    agent = client.agents.create(unique("Phone agent"), lang="en")
    sip = client.phone_numbers.add_sip(
        f"+971 4 {digits}", address="sip.carrier.example:5060", transport="tcp",
        username="trunk", password="s3cret-sip", custom_headers={"X-Tenant": "hams"},
        label="trunk")
    assert isinstance(sip, PhoneNumber) and sip.number == f"+9714{digits}"
    assert sip.type == "SIP" and sip.sip_outbound_configs["transportType"] == "TCP"
    assert "s3cret-sip" not in sip.model_dump_json()
    twilio = client.phone_numbers.add_twilio(
        f"+1 415 {digits}", account_sid="AC" + "0123456789abcdef" * 2,
        auth_token="tw1l10-token", number_sid="PN" + "fedcba9876543210" * 2)
    assert twilio.type == "TWILIO" and "tw1l10-token" not in twilio.model_dump_json()
    assert client.phone_numbers.get(sip.id).number == sip.number

    assigned = client.phone_numbers.assign(sip.number, agent.id)
    assert assigned.voice_agent_id == agent.id and assigned.voice_agent["id"] == agent.id
    assert client.agents.get(agent.id).phone_number["number"] == sip.number
    assert [n.id for n in client.phone_numbers.list(agent_id=agent.id)] == [sip.id]
    assert twilio.id in {n.id for n in client.phone_numbers.list(provider="TWILIO",
                                                                 per_page=100)}
    with pytest.raises(ServerError) as call:  # hams cannot place calls yet
        client.phone_numbers.call("+966112345678", agent_id=agent.id)
    assert call.value.status_code == 501 and call.value.message_key == "NOT_IMPLEMENTED"

    client.phone_numbers.unassign(sip.number)
    assert client.agents.get(agent.id).phone_number is None
    for number in (sip, twilio):
        assert client.phone_numbers.delete(number.id).id == number.id
    with pytest.raises(NotFoundError):
        client.phone_numbers.get(sip.id)
    client.agents.delete(agent.id)


# --- web tools -----------------------------------------------------------------------------

WEATHER_PARAMS = {"type": "object", "required": ["city"], "properties": {
    "city": {"type": "string"}, "days": {"type": "integer"}}}


def test_web_tool_create_version_test_use_and_delete(client, echo):
    name = unique("weather")
    tool = client.web_tools.create(
        name, url=echo.url + "/forecast/{city}", method="POST", description="v1",
        params=WEATHER_PARAMS, auth_token="s3cret-token", headers={"X-Test": "yes"},
        timeout=5, messages=[{"type": "REQUEST_START", "content": "One moment"}])
    assert isinstance(tool, WebTool) and tool.version == 1 and tool.name == name
    assert tool.persistent_id and tool.function_name and tool.is_async is False
    settings = tool.tool_settings
    assert settings.server_url == echo.url + "/forecast/{city}"
    assert settings.timeout == 5000 and settings.time_out == 5  # milliseconds and seconds
    assert settings.auth_token and "s3cret-token" not in settings.auth_token  # masked

    second = client.web_tools.update(tool.persistent_id, description="v2", method="GET")
    assert (second.version, second.persistent_id) == (2, tool.persistent_id)
    assert second.id != tool.id and second.description == "v2"
    assert second.tool_settings.server_url == settings.server_url  # carried over
    assert second.tool_settings.timeout == 5000
    assert client.web_tools.get(tool.persistent_id).version == 2
    assert client.web_tools.get(tool.persistent_id, version=1).description == "v1"
    assert client.web_tools.get(tool.id).version == 1  # a version's own id
    page = client.web_tools.list(search=name)
    assert [(t.persistent_id, t.version) for t in page.items] == [(tool.persistent_id, 2)]
    assert page.filtered == 1 and page.total >= 1

    called = client.web_tools.test(tool.persistent_id, {"city": "Riyadh", "days": 3})
    assert isinstance(called, WebToolTestResult) and called.ok and called.status == 200
    assert called.method == "GET" and called.latency_ms >= 0
    echoed = json.loads(called.body)
    assert echoed["path"] == "/forecast/Riyadh" and echoed["query"] == {"days": "3"}
    assert echoed["authorization"] == "Bearer s3cret-token" and echoed["x-test"] == "yes"
    first = client.web_tools.test(tool.persistent_id, {"city": "Jeddah"}, version=1)
    assert first.method == "POST" and json.loads(first.body)["json"] == {}
    with pytest.raises(BadRequestError):  # the arguments do not fit params
        client.web_tools.test(tool.persistent_id, {"days": "three"})

    agent = client.agents.create(unique("Tool user"), tools=[tool.persistent_id])
    assert [(t.persistent_id, t.version) for t in agent.tools] == [(tool.persistent_id, None)]
    pinned = client.agents.update(agent.id, tools=[{"persistent_id": tool.persistent_id,
                                                    "version": 1}])
    assert pinned.tools[0].version == 1 and pinned.tools[0].tool_id == tool.id
    used = client.web_tools.list(agent_id=agent.id)
    assert [(t.persistent_id, t.version) for t in used.items] == [(tool.persistent_id, 1)]

    client.web_tools.delete(tool.persistent_id)
    with pytest.raises(NotFoundError):
        client.web_tools.get(tool.persistent_id)
    assert client.agents.get(agent.id).tools == []
    client.agents.delete(agent.id)


def test_a_web_tool_that_cannot_be_reached_is_reported_not_raised(server):
    async def flow() -> WebToolTestResult:
        async with AsyncHams(api_key=server.key, base_url=server.base_url) as sdk:
            tool = await sdk.web_tools.create(unique("down"), url="http://127.0.0.1:9/x",
                                              timeout=2)
            try:
                return await sdk.web_tools.test(tool.id)
            finally:
                await sdk.web_tools.delete(tool.id)

    called = asyncio.run(flow())
    assert called.ok is False and called.status is None and called.error


# --- the knowledge base --------------------------------------------------------------------

RETURNS = ("The Oasis store takes back unopened goods within fourteen days of purchase when "
           "the original receipt is kept. Refunds reach the same card within seven working "
           "days.")
HOURS = ("# Opening hours\n\nThe Oasis branch in Riyadh opens at nine in the morning and "
         "closes at eleven at night, every day except Friday mornings.\n")
PAGE = ("<html><head><title>Delivery</title></head><body><article><h1>Delivery</h1>"
        "<p>Orders above two hundred riyals are delivered free of charge to every district of "
        "Jeddah, usually on the next working day.</p><p>Heavy furniture is delivered by a "
        "second team that calls the customer one day before.</p></article></body></html>")


def test_knowledge_text_file_and_page_are_processed_and_found(client, tmp_path, media_server):
    name = unique("returns")
    text = client.knowledge_base.add_text(name, RETURNS)
    assert isinstance(text, KnowledgeItem) and text.type == "TEXT" and text.item_name == name
    assert text.status == "PROCESSING" and text.job_id
    polls: list[KnowledgeItem] = []
    text = client.knowledge_base.wait(text.id, timeout=60, on_poll=polls.append)
    assert text.processed and text.done and text.words_number > 10
    assert polls and polls[-1].processed

    notes = tmp_path / "hours.md"
    notes.write_text(HOURS, encoding="utf-8")
    progress: list[tuple[int, int]] = []
    hours = client.knowledge_base.add_file(
        notes, "أوقات العمل", wait=True, timeout=60,
        on_progress=lambda sent, total: progress.append((sent, total)))
    assert hours.processed and hours.type == "FILE" and hours.extension == "md"
    assert hours.item_name == "أوقات العمل" and progress[-1] == (len(HOURS), len(HOURS))
    unnamed = client.knowledge_base.add_file(notes)
    assert unnamed.item_name == "hours.md"

    url = media_server.add_file(f"{slug('delivery')}.html", PAGE.encode())
    page = client.knowledge_base.add_urls(None, url, wait=True, timeout=60)
    assert page.processed and page.type == "URL" and page.item_urls == [url], page

    found = client.knowledge_base.search("How long do refunds take to reach my card?",
                                         item_ids=[text.id, hours.id, page.id], top_k=3)
    assert isinstance(found, KnowledgeSearch) and found.mode in ("hybrid", "bm25")
    assert found.results[0].item_id == text.id and "seven working days" in found.results[0].text
    when = client.knowledge_base.search("When does the Riyadh branch open?",
                                        item_ids=[text.id, hours.id, page.id], top_k=1)
    assert [hit.item_id for hit in when.results] == [hours.id]
    convex = client.knowledge_base.search("When does the Riyadh branch open?",
                                          item_ids=[text.id, hours.id, page.id], top_k=3,
                                          fusion="convex")
    assert convex.results[0].item_id == hours.id and convex.results[0].score != \
        when.results[0].score  # a score of another kind: the fusion reached the server
    free = client.knowledge_base.search("free delivery in Jeddah", item_ids=[page.id], top_k=2)
    assert free.results and free.results[0].source == url
    assert "two hundred riyals" in free.results[0].text

    listed = client.knowledge_base.list(search=name, per_page=5)
    assert [i.id for i in listed.items] == [text.id] and listed.filtered == 1
    assert {i.id for i in client.knowledge_base.list(type="URL", per_page=100).items} >= {page.id}
    renamed = client.knowledge_base.update(text.id, name=name + " (policy)", is_active=False)
    assert renamed.item_name == name + " (policy)" and renamed.is_active is False
    assert client.knowledge_base.search("refunds card", item_ids=[text.id]).results == []

    agent = client.agents.create(unique("KB user"), knowledge_base_items_ids=[hours.id])
    assert agent.knowledge_base_items_ids == [hours.id]
    assert client.knowledge_base.get(hours.id).used is True
    client.agents.delete(agent.id)
    for item in (text, hours, unnamed, page):
        client.knowledge_base.delete(item.id)
    with pytest.raises(NotFoundError):
        client.knowledge_base.get(text.id)


def test_waiting_for_an_item_times_out_while_its_page_is_held(client, media_server):
    name = f"{slug('slow')}.html"
    url = media_server.add_file(name, PAGE.encode())
    gate = media_server.gate(name)
    item = client.knowledge_base.add_urls("slow page", [url])
    try:
        with pytest.raises(KnowledgeItemTimeout) as timed_out:
            client.knowledge_base.wait(item.id, timeout=1)
        assert isinstance(timed_out.value, JobTimeout) and isinstance(timed_out.value,
                                                                      TimeoutError)
        assert timed_out.value.item.status == "PROCESSING"
        assert timed_out.value.job.id == item.job_id and not timed_out.value.job.done
    finally:
        gate.set()
    assert client.knowledge_base.wait(item.id, timeout=60).processed
    client.knowledge_base.delete(item.id)


def test_knowledge_refusals_are_the_error_tree(client, tmp_path):
    with pytest.raises(FileNotFoundError):
        client.knowledge_base.add_file(tmp_path / "missing.txt")
    with pytest.raises(BadRequestError):
        client.knowledge_base.add_text("empty", "   ")
    with pytest.raises(BadRequestError) as refused:
        client.knowledge_base.add_urls("ftp", "ftp://example.com/a.txt")
    assert refused.value.message_key
    with pytest.raises(NotFoundError):
        client.knowledge_base.wait(str(uuid.uuid4()))


def test_knowledge_through_the_async_client(server):
    async def flow() -> tuple[KnowledgeItem, KnowledgeSearch]:
        async with AsyncHams(api_key=server.key, base_url=server.base_url) as sdk:
            item = await sdk.knowledge_base.add_text(None, "Parking is free for two hours "
                                                     "at the Olaya branch.", wait=True,
                                                     timeout=60)
            found = await sdk.knowledge_base.search("Is parking free?", item_ids=[item.id])
            await sdk.knowledge_base.delete(item.id)
            return item, found

    item, found = asyncio.run(flow())
    assert item.processed and item.item_name.startswith("Parking is free")
    assert found.results and found.results[0].item_id == item.id
