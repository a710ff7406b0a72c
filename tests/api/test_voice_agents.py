"""Voice agents through both wire versions: every documented field kept, v1 ↔ v2 round trips,
ranges, voices, templates and clones, lists as clients page and filter them, secrets sealed,
and the project boundary. On SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from hams.db.models import (
    KnowledgeItem,
    PhoneNumber,
    Voice,
    VoiceAgent,
    VoiceDictionary,
    WebTool,
)
from hams.errors import EngineUnavailable, ValidationFailed
from hams.sealing import SealedSecretUnreadable, SecretBox
from hams.services.agent_runtime import agent_llm, conversation_params, fill_template
from tests.conftest import built_runtime, make_settings
from tests.factories import api_client, make_key

LLM_KEY = "sk-proj-VERYSECRETllmkey0000abcd"
HOOK_SECRET = "hook-secret-value-7777"

# Every documented v1 field (spec §6.1) with a value other than its default.
V1_FULL = {
    "agentName": "Clinic receptionist",
    "greetingMessage": "مرحبا {{customerName}}، كيف أساعدك؟",
    "greetingMessageType": "PROMPT",
    "description": "Answers the clinic's phone",
    "preamble": "You are the receptionist of {{clinic}}. Keep answers short.",
    "lang": "ar",
    "pokeMessages": ["هل ما زلت معي؟", "Are you still there?"],
    "realTime": False,
    "silenceThreshold": 1200,
    "interrupt": False,
    "type": "Single Prompt",
    "outcome": "Summarize the call as a short note",
    "outcomeResponseShape": {"type": "object", "properties": {"booked": {"type": "boolean"}}},
    "voiceId": "Hiba",
    "collectionId": "clinics",
    "isTemplate": True,
    "icon": "https://example.com/icon.png",
    "webhookUrl": "http://127.0.0.1:9/agent",
    "webhookAuth": {"authKey": "Bearer", "authSecret": HOOK_SECRET},
    "params": {"clinic": "Al Shifa"},
    "alignment": {"greetingMessage": "rtl", "preamble": "ltr"},
    "tools": {"genderDetection": True, "smartCallEnd": False, "googleCalendar": False},
    "webToolsOverrides": {"lookup": {"timeout": 5}},
    "userInactivityTimeout": 20,
    "maxCallDuration": 450,
    "responseDelay": 700,
    "backgroundNoise": True,
    "waitForUserToSpeakFirst": True,
    "thinkingVoice": True,
    "speakerIdentification": True,
    "llmConfig": {"provider": "openai", "modelName": "gpt-4o-mini",
                  "baseUrl": "http://127.0.0.1:8000/v1", "apiKey": LLM_KEY,
                  "temperature": 0.7},
    "noiseCancellation": "standard",
    "cancelNoisePer": "turn",
    "agenticRag": True,
    "languageDialectSwitcher": True,
    "minInterruptionDuration": 0.8,
    "vadActivationThreshold": 0.7,
    "enableAutoGainControl": True,
    "sendDenoisedToStt": True,
}
CALL_SETTINGS = ("noiseCancellation", "cancelNoisePer", "interrupt", "responseDelay",
                 "minInterruptionDuration", "vadActivationThreshold", "userInactivityTimeout",
                 "maxCallDuration", "silenceThreshold", "backgroundNoise",
                 "enableAutoGainControl", "sendDenoisedToStt", "waitForUserToSpeakFirst",
                 "thinkingVoice", "speakerIdentification", "agenticRag",
                 "languageDialectSwitcher")


def _voice(runtime, name: str) -> Voice:
    with runtime.db.session() as session:
        return session.scalars(select(Voice).where(Voice.name == name)).one()


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def _error(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    return body


def _fields(body: dict) -> set[str]:
    return {f["field"] for f in body["data"]}


def test_v1_agent_keeps_every_documented_field_and_reads_the_same_through_v2(api, runtime):
    with runtime.db.session() as session:
        dictionary = VoiceDictionary(project_id=api.project.id, name="names",
                                     words=[{"word": "hams", "pronunciation": "hamss"}])
        session.add(dictionary)
        session.flush()
        dictionary_id = dictionary.id
    created = _ok(api.post("/v1/voice-agents",
                           json={**V1_FULL, "voiceDictionaryIds": [dictionary_id]}))
    hiba = _voice(runtime, "Hiba")
    for name, value in V1_FULL.items():
        if name in ("voiceId", "webhookAuth", "llmConfig", "params"):
            continue
        assert created[name] == value, name
    assert created["voiceId"] == created["voiceRecordId"] == hiba.id
    assert created["voiceRecord"] == {"id": hiba.id, "name": "Hiba", "provider": "hams",
                                      "language": "ar", "image": None, "languageCode": "ksa"}
    assert created["params"] == {"clinic": "Al Shifa", "customerName": None}
    assert created["webhookAuth"] == {"authKey": "Bearer", "authSecret": "hook-…7777"}
    assert created["llmConfig"] == {"provider": "openai", "modelName": "gpt-4o-mini",
                                    "baseUrl": "http://127.0.0.1:8000/v1",
                                    "apiKey": "sk-…abcd", "temperature": 0.7}
    assert created["voiceDictionaryIds"] == [dictionary_id]
    assert created["projectId"] == api.project.id
    assert created["apiKeyId"] == api.principal.api_key_id

    v1 = _ok(api.get(f"/v1/voice-agents/{created['id']}"))
    assert v1 == created
    v2 = _ok(api.get(f"/v2/voice-agents/{created['id']}"))
    assert v2["name"] == V1_FULL["agentName"] and v2["type"] == "Single Prompt"
    assert v2["description"] == V1_FULL["description"]
    assert v2["conversation"] == {
        "greetingMessage": V1_FULL["greetingMessage"], "greetingMessageType": "PROMPT",
        "preamble": V1_FULL["preamble"], "pokeMessages": V1_FULL["pokeMessages"],
        "params": created["params"], "alignment": V1_FULL["alignment"]}
    assert v2["voice"]["voiceId"] == hiba.id and v2["voice"]["lang"] == "ar"
    assert v2["llm"] == {"provider": "openai", "model": "gpt-4o-mini", "temperature": 0.7,
                         "baseUrl": "http://127.0.0.1:8000/v1", "apiKey": "sk-…abcd"}
    for name in CALL_SETTINGS:
        assert v2["callSettings"][name] == V1_FULL[name], name
    assert v2["callSettings"]["genderDetection"] is True
    assert v2["callSettings"]["smartCallEnd"] is False
    for name in ("outcome", "outcomeResponseShape", "isTemplate", "icon", "collectionId",
                 "realTime", "webToolsOverrides", "webhookUrl"):
        assert v2[name] == V1_FULL[name], name
    assert v2["webhookAuth"] == created["webhookAuth"]
    assert v2["voiceDictionaryIds"] == [dictionary_id]


V2_FULL = {
    "name": "Support line",
    "type": "Flow Agent",
    "conversation": {"greetingMessage": "Hi {{name}}!", "greetingMessageType": "TEXT",
                     "preamble": "Help with orders.", "pokeMessages": ["Hello?"],
                     "params": {"name": "friend"},
                     "alignment": {"greetingMessage": "ltr", "preamble": "ltr"}},
    "voice": {"voiceId": "James", "lang": "en", "ttsParams": {"speed": 1.1}},
    "llm": {"provider": "vllm", "model": "qwen2.5", "temperature": 0.1,
            "baseUrl": "http://127.0.0.1:8001/v1", "apiKey": "token-abcdefghijkl9876"},
    "callSettings": {"noiseCancellation": "telephony_optimized", "cancelNoisePer": "turn",
                     "interrupt": False, "responseDelay": 1500,
                     "minInterruptionDuration": 0.2, "vadActivationThreshold": 0.9,
                     "userInactivityTimeout": 5, "maxCallDuration": 30,
                     "silenceThreshold": 1, "backgroundNoise": True,
                     "enableAutoGainControl": True, "sendDenoisedToStt": True,
                     "waitForUserToSpeakFirst": True, "thinkingVoice": True,
                     "speakerIdentification": True, "agenticRag": True,
                     "languageDialectSwitcher": True, "genderDetection": True,
                     "smartCallEnd": False},
    "webhookUrl": "http://127.0.0.1:9/v2",
    "webhookAuth": {"authKey": "Bearer", "authSecret": "another-secret-1234"},
    "workflow": {"nodes": [{"id": "start", "type": "start", "label": "Start",
                            "message": "Hi", "messageType": "prompt",
                            "position": {"x": 0, "y": 0}, "metadata": {"version": 1},
                            "transitions": []}],
                 "edges": [], "customVariables": []},
    "outcomeResponseShape": {"type": "object"},
}


def test_v2_agent_reads_the_same_through_v1(api, runtime):
    created = _ok(api.post("/v2/voice-agents", json=V2_FULL))
    james = _voice(runtime, "James")
    assert created["type"] == "Flow Agent"
    assert created["conversation"]["greetingMessageType"] == "STATIC"  # v2's "TEXT"
    assert created["conversation"]["params"] == {"name": "friend"}
    assert created["voice"]["voiceId"] == james.id
    assert created["voice"]["ttsParams"] == {"speed": 1.1}
    assert created["llm"]["apiKey"] == "token-…9876"
    assert created["callSettings"] == {**V2_FULL["callSettings"]}
    assert created["workflow"] == V2_FULL["workflow"]
    v1 = _ok(api.get(f"/v1/voice-agents/{created['id']}"))
    assert v1["agentName"] == "Support line" and v1["type"] == "Flow Agent"
    assert v1["lang"] == "en" and v1["voiceId"] == james.id
    assert v1["greetingMessage"] == "Hi {{name}}!" and v1["preamble"] == "Help with orders."
    assert v1["llmConfig"] == {"provider": "vllm", "modelName": "qwen2.5",
                               "baseUrl": "http://127.0.0.1:8001/v1",
                               "apiKey": "token-…9876", "temperature": 0.1}
    for name in CALL_SETTINGS:
        assert v1[name] == V2_FULL["callSettings"][name], name
    assert v1["tools"] == {"genderDetection": True, "smartCallEnd": False}
    assert v1["webhookUrl"] == V2_FULL["webhookUrl"]
    assert v1["outcomeResponseShape"] == {"type": "object"}
    # and back through v1: a PATCH there is seen by v2
    _ok(api.patch(f"/v1/voice-agents/{created['id']}", json={"maxCallDuration": 600,
                                                               "agentName": "Renamed"}))
    again = _ok(api.get(f"/v2/voice-agents/{created['id']}"))
    assert again["name"] == "Renamed" and again["callSettings"]["maxCallDuration"] == 600
    assert again["callSettings"]["responseDelay"] == 1500  # untouched


def test_defaults_are_the_documented_ones(api):
    agent = _ok(api.post("/v1/voice-agents", json={"agentName": "Plain"}))
    expected = {"silenceThreshold": 800, "userInactivityTimeout": 15, "maxCallDuration": 300,
                "responseDelay": 400, "minInterruptionDuration": 0.5,
                "vadActivationThreshold": 0.5, "noiseCancellation": "telephony-optimized",
                "cancelNoisePer": "conversation", "lang": "ar", "type": "Single Prompt",
                "greetingMessageType": "STATIC", "interrupt": True, "isTemplate": False}
    assert {k: agent[k] for k in expected} == expected
    assert agent["llmConfig"]["temperature"] == 0.2 and agent["llmConfig"]["apiKey"] is None
    assert agent["voiceRecord"]["languageCode"] == "msa"  # an Arabic agent's default voice
    assert agent["alignment"] == {"greetingMessage": "rtl", "preamble": "rtl"}


def test_v2_patch_changes_only_the_nested_fields_sent_and_null_restores_a_default(api):
    agent = _ok(api.post("/v2/voice-agents", json=V2_FULL))
    patched = _ok(api.patch(f"/v2/voice-agents/{agent['id']}",
                            json={"callSettings": {"interrupt": True},
                                  "conversation": {"preamble": "New preamble"}}))
    assert patched["callSettings"] == {**V2_FULL["callSettings"], "interrupt": True}
    assert patched["conversation"]["preamble"] == "New preamble"
    assert patched["conversation"]["greetingMessage"] == "Hi {{name}}!"
    assert patched["llm"]["apiKey"] == "token-…9876"
    reset = _ok(api.patch(f"/v2/voice-agents/{agent['id']}",
                          json={"callSettings": {"silenceThreshold": None}}))
    assert reset["callSettings"]["silenceThreshold"] == 800


RANGES = [  # field, below, above (spec §6.1)
    ("silenceThreshold", 0, 10_001),
    ("userInactivityTimeout", 4, 31),
    ("maxCallDuration", 29, 601),
    ("responseDelay", 99, 1501),
    ("minInterruptionDuration", 0.1, 1.6),
    ("vadActivationThreshold", 0.1, 0.95),
]


@pytest.mark.parametrize(("name", "below", "above"), RANGES)
def test_out_of_range_values_are_refused_naming_the_field(api, name, below, above):
    for value in (below, above):
        body = _error(api.post("/v1/voice-agents", json={"agentName": "x", name: value}))
        assert _fields(body) == {name}
        body = _error(api.post("/v2/voice-agents",
                               json={"name": "x", "callSettings": {name: value}}))
        assert _fields(body) == {f"callSettings.{name}"}
    agent = _ok(api.post("/v1/voice-agents", json={"agentName": "x"}))
    body = _error(api.patch(f"/v1/voice-agents/{agent['id']}", json={name: above}))
    assert _fields(body) == {name}
    assert _ok(api.get(f"/v1/voice-agents/{agent['id']}"))[name] == agent[name]


def test_other_bad_fields_are_refused_naming_them(api):
    cases = [
        ({"agentName": "x", "lang": "fr"}, "lang"),
        ({"agentName": "x", "type": "Robot"}, "type"),
        ({"agentName": "x", "greetingMessageType": "LOUD"}, "greetingMessageType"),
        ({"agentName": "x", "llmConfig": {"temperature": 2.5}}, "llmConfig.temperature"),
        ({"agentName": ""}, "agentName"),
        ({}, "agentName"),
        ({"agentName": "x", "knowledgeBaseItemsIds": ["nope"]}, "knowledgeBaseItemsIds"),
        ({"agentName": "x", "voiceDictionaryIds": ["nope"]}, "voiceDictionaryIds"),
        ({"agentName": "x", "webToolsIds": ["nope"]}, "webToolsIds"),
    ]
    for body, field in cases:
        assert _fields(_error(api.post("/v1/voice-agents", json=body))) == {field}, body
    assert _fields(_error(api.post("/v2/voice-agents", json={
        "name": "x", "llm": {"temperature": -1}}))) == {"llm.temperature"}


def test_voice_id_resolves_by_uuid_or_name_and_unknown_is_400(api, runtime):
    fahd = _voice(runtime, "Fahd")
    by_id = _ok(api.post("/v1/voice-agents", json={"agentName": "a", "voiceId": fahd.id}))
    by_name = _ok(api.post("/v1/voice-agents", json={"agentName": "b", "voiceId": "fahd"}))
    assert by_id["voiceId"] == by_name["voiceId"] == fahd.id
    for unknown in ("Nobody", "00000000-0000-0000-0000-000000000000"):
        body = _error(api.post("/v1/voice-agents", json={"agentName": "c", "voiceId": unknown}))
        assert body["messageKey"] == "UNKNOWN_VOICE" and _fields(body) == {"voiceId"}
    # switching language moves a voice of the other language to the new default
    switched = _ok(api.patch(f"/v1/voice-agents/{by_id['id']}", json={"lang": "en"}))
    assert switched["voiceRecord"]["language"] == "en"


def test_templates_list_their_params_and_conversations_must_fill_them(api, runtime):
    agent = _ok(api.post("/v1/voice-agents", json={
        "agentName": "t", "isTemplate": True,
        "greetingMessage": "Hello {{ name }}, about {{order_id}}",
        "preamble": "The customer is {{name}} from {{city}}.", "params": {"city": "Amman"}}))
    assert agent["params"] == {"city": "Amman", "name": None, "order_id": None}
    with runtime.db.session() as session:
        config = session.get(VoiceAgent, agent["id"]).config
    with pytest.raises(ValidationFailed) as refused:
        conversation_params(config, {"name": "Sara"})
    assert [f["field"] for f in refused.value.data] == ["params.order_id"]
    values = conversation_params(config, {"name": "Sara", "order_id": 42})
    assert values == {"city": "Amman", "name": "Sara", "order_id": "42"}
    assert fill_template(config["greetingMessage"], values) == "Hello Sara, about 42"


def test_clone_copies_settings_secrets_tools_and_knowledge_but_not_the_number(api, runtime):
    template = _ok(api.post("/v1/voice-agents", json={**V1_FULL}))
    with runtime.db.session() as session:
        tool = WebTool(project_id=api.project.id, name="lookup", settings={}, messages=[])
        item = KnowledgeItem(project_id=api.project.id, item_name="faq", type="TEXT",
                             status="PROCESSED", content="x", item_urls=[])
        session.add_all([tool, item])
        session.flush()
        tool_persistent, item_id = tool.persistent_id, item.id
        session.add(PhoneNumber(project_id=api.project.id, number="+15550001111", type="SIP",
                                voice_agent_id=template["id"]))
    _ok(api.patch(f"/v1/voice-agents/{template['id']}", json={
        "webToolsIds": [tool_persistent], "knowledgeBaseItemsIds": [item_id]}))
    other_key = api_client(runtime)  # another key of ANOTHER project cannot clone it
    with other_key as stranger:
        _error(stranger.post(f"/v1/voice-agents/clone?voiceAgentId={template['id']}",
                             json={"agentName": "mine"}), 404)
    clone = _ok(api.post(f"/v1/voice-agents/clone?voiceAgentId={template['id']}",
                         json={"agentName": "Copy"}))
    assert clone["id"] != template["id"] and clone["agentName"] == "Copy"
    assert clone["isTemplate"] is False
    assert clone["webToolsIds"] == [tool_persistent]
    assert clone["knowledgeBaseItemsIds"] == [item_id]
    assert clone["llmConfig"]["apiKey"] == "sk-…abcd"
    for name in ("preamble", "greetingMessage", "silenceThreshold", "voiceId", "outcome"):
        assert clone[name] == template[name]
    assert _ok(api.get(f"/v2/voice-agents/{clone['id']}"))["phoneNumber"] is None
    assert _ok(api.get(f"/v2/voice-agents/{template['id']}"))["phoneNumber"]["number"] == \
        "+15550001111"
    with runtime.db.session() as session:
        stored = session.get(VoiceAgent, clone["id"])
        assert runtime.secrets.open_fields(stored.sealed_secrets)["llmApiKey"] == LLM_KEY


def test_web_tools_follow_the_latest_version_or_a_pinned_one(api, runtime):
    with runtime.db.session() as session:
        first = WebTool(project_id=api.project.id, name="weather", settings={}, messages=[])
        session.add(first)
        session.flush()
        pinned = WebTool(project_id=api.project.id, name="prices", settings={}, messages=[])
        session.add(pinned)
        session.flush()
        first_id, persistent = first.id, first.persistent_id
        pinned_id, pinned_persistent = pinned.id, pinned.persistent_id
    agent = _ok(api.post("/v1/voice-agents", json={
        "agentName": "tools", "webToolsIds": [persistent, pinned_id]}))
    assert agent["webToolsIds"] == [persistent, pinned_id]
    with runtime.db.session() as session:  # an update of both tools: version 2 of each
        for persistent_id, name in ((persistent, "weather"), (pinned_persistent, "prices")):
            session.add(WebTool(project_id=api.project.id, persistent_id=persistent_id,
                                version=2, name=f"{name} v2", settings={}, messages=[]))
    v2 = _ok(api.get(f"/v2/voice-agents/{agent['id']}"))
    assert [(t["persistentId"], t["version"]) for t in v2["tools"]] == [
        (persistent, None), (pinned_persistent, 1)]
    assert [(t["name"], t["version"]) for t in v2["resolvedWebTools"]] == [
        ("weather v2", 2), ("prices", 1)]
    assert v2["tools"][0]["toolId"] != first_id  # the latest version's id
    repinned = _ok(api.patch(f"/v2/voice-agents/{agent['id']}", json={"tools": [
        {"persistentId": persistent, "version": 1, "nodeId": "n1", "overrides": {"a": 1}}]}))
    assert repinned["tools"] == [{"persistentId": persistent, "toolId": first_id,
                                  "version": 1, "toolType": "FUNCTION", "nodeId": "n1",
                                  "testResult": None, "overrides": {"a": 1}}]
    body = _error(api.patch(f"/v2/voice-agents/{agent['id']}", json={"tools": [
        {"persistentId": persistent, "version": 9}]}))
    assert body["messageKey"] == "UNKNOWN_WEB_TOOL"


def test_lists_page_by_page_number_and_filter_as_clients_send_them(api):
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    for index, name in enumerate(names):
        body = {"agentName": name, "lang": "en" if index % 2 else "ar"}
        if name == "Echo":
            body["type"] = "Flow Agent"
        _ok(api.post("/v1/voice-agents", json=body))
    page1 = _ok(api.get("/v1/voice-agents?skip=1&take=2"))
    page3 = _ok(api.get("/v1/voice-agents", params={"skip": "3", "take": "2"}))
    assert page1["total"] == page1["filtered"] == 5
    assert [a["agentName"] for a in page1["voiceAgents"]] == ["Echo", "Delta"]  # newest first
    assert [a["agentName"] for a in page3["voiceAgents"]] == ["Alpha"]
    assert _ok(api.get("/v1/voice-agents?skip=0&take=10"))["voiceAgents"][0]["agentName"] == \
        "Echo"  # page 0 is read as page 1
    english = _ok(api.get("/v2/voice-agents?language[]=en"))
    assert english["total"] == 5 and english["filtered"] == 2
    assert {a["name"] for a in english["voiceAgents"]} == {"Bravo", "Delta"}
    both = _ok(api.get("/v2/voice-agents?language=en&language=ar&sortField=name&sortOrder=asc"))
    assert [a["name"] for a in both["voiceAgents"]] == names
    flows = _ok(api.get("/v2/voice-agents", params=[("type[]", "Flow Agent")]))
    assert [a["name"] for a in flows["voiceAgents"]] == ["Echo"]
    found = _ok(api.get("/v2/voice-agents?search=harl"))
    assert [a["name"] for a in found["voiceAgents"]] == ["Charlie"] and found["filtered"] == 1
    _error(api.get("/v2/voice-agents?sortOrder=sideways"))
    _error(api.get("/v1/voice-agents?take=0"))


def test_secrets_are_sealed_at_rest_and_only_shown_masked(api, runtime):
    agent = _ok(api.post("/v1/voice-agents", json={**V1_FULL}))
    for path in (f"/v1/voice-agents/{agent['id']}", f"/v2/voice-agents/{agent['id']}",
                 "/v1/voice-agents", "/v2/voice-agents"):
        text = api.get(path).text
        assert LLM_KEY not in text and HOOK_SECRET not in text
    with runtime.db.session() as session:
        row = session.get(VoiceAgent, agent["id"])
        stored = f"{row.config} {row.sealed_secrets}"
        assert LLM_KEY not in stored and HOOK_SECRET not in stored
        assert runtime.secrets.open_fields(row.sealed_secrets) == {
            "llmApiKey": LLM_KEY, "webhookAuthSecret": HOOK_SECRET}
    # sending back the masked values keeps the secrets; null removes the LLM settings
    kept = _ok(api.patch(f"/v1/voice-agents/{agent['id']}", json={
        "llmConfig": {**agent["llmConfig"]}, "webhookAuth": agent["webhookAuth"]}))
    assert kept["llmConfig"]["apiKey"] == "sk-…abcd"
    with runtime.db.session() as session:
        opened = runtime.secrets.open_fields(session.get(VoiceAgent, agent["id"]).sealed_secrets)
        assert opened["llmApiKey"] == LLM_KEY and opened["webhookAuthSecret"] == HOOK_SECRET
    cleared = _ok(api.patch(f"/v1/voice-agents/{agent['id']}",
                            json={"llmConfig": None, "webhookAuth": None}))
    assert cleared["llmConfig"] == {"provider": None, "modelName": None, "baseUrl": None,
                                    "apiKey": None, "temperature": 0.2}
    assert cleared["webhookAuth"] is None


def test_an_agent_without_an_llm_is_saved_but_cannot_talk(api, runtime, tmp_path):
    agent = _ok(api.post("/v1/voice-agents", json={"agentName": "mute"}))
    with runtime.db.session() as session:
        row = session.get(VoiceAgent, agent["id"])
        with pytest.raises(EngineUnavailable) as refused:
            agent_llm(row, settings=runtime.settings, secrets=runtime.secrets)
        assert refused.value.message_key == "LLM_NOT_CONFIGURED"
        assert "HAMS_LLM_BASE_URL" in refused.value.message
        server = make_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1",
                               llm_model="served-model")
        endpoint = agent_llm(row, settings=server, secrets=runtime.secrets)
        assert (endpoint.base_url, endpoint.model, endpoint.source) == (
            "http://127.0.0.1:9/v1", "served-model", "server")
    own = _ok(api.post("/v2/voice-agents", json={"name": "talks", "llm": {
        "provider": "ollama", "model": "llama3", "baseUrl": "http://127.0.0.1:11434/v1",
        "apiKey": "ollama-key-000011112222"}}))
    with runtime.db.session() as session:
        endpoint = agent_llm(session.get(VoiceAgent, own["id"]), settings=runtime.settings,
                             secrets=runtime.secrets)
    assert (endpoint.base_url, endpoint.model, endpoint.api_key, endpoint.source) == (
        "http://127.0.0.1:11434/v1", "llama3", "ollama-key-000011112222", "agent")


def test_webhook_and_llm_urls_pass_the_ssrf_guard(tmp_path):
    with built_runtime(tmp_path, allow_private_urls=False) as runtime, \
            api_client(runtime) as api:
        for body in ({"agentName": "x", "webhookUrl": "http://127.0.0.1:8080/hook"},
                     {"agentName": "x", "webhookUrl": "http://10.0.0.5/hook"},
                     {"agentName": "x", "llmConfig": {"baseUrl": "http://169.254.169.254/v1",
                                                      "modelName": "m"}}):
            assert _error(api.post("/v1/voice-agents", json=body))["messageKey"] == \
                "URL_REFUSED"
        agent = _ok(api.post("/v1/voice-agents", json={"agentName": "ok"}))
        assert _error(api.patch(f"/v2/voice-agents/{agent['id']}", json={
            "webhookUrl": "ftp://example.com/x"}))["messageKey"] in ("URL_REFUSED",
                                                                    "BAD_REQUEST")
        assert _ok(api.get(f"/v1/voice-agents/{agent['id']}"))["webhookUrl"] is None


def test_another_projects_agent_is_not_found_and_delete_unassigns_the_number(api, runtime):
    agent = _ok(api.post("/v1/voice-agents", json={"agentName": "private"}))
    with api_client(runtime) as stranger:
        for method, path in (("GET", "/v1/voice-agents/{}"), ("GET", "/v2/voice-agents/{}"),
                             ("PATCH", "/v1/voice-agents/{}"), ("PATCH", "/v2/voice-agents/{}"),
                             ("DELETE", "/v1/voice-agents/{}")):
            response = stranger.request(method, path.format(agent["id"]),
                                        json={} if method == "PATCH" else None)
            assert _error(response, 404)["messageKey"] == "VOICE_AGENT_NOT_FOUND"
        assert _ok(stranger.get("/v1/voice-agents"))["total"] == 0
    with runtime.db.session() as session:
        session.add(PhoneNumber(project_id=api.project.id, number="+15550002222", type="SIP",
                                voice_agent_id=agent["id"]))
    assert _ok(api.delete(f"/v2/voice-agents/{agent['id']}")) == {"id": agent["id"]}
    _error(api.get(f"/v1/voice-agents/{agent['id']}"), 404)
    with runtime.db.session() as session:
        number = session.scalars(select(PhoneNumber).where(
            PhoneNumber.number == "+15550002222")).one()
        assert number.voice_agent_id is None


def test_secrets_sealed_under_another_key_read_as_unset_and_can_be_set_again(api, runtime):
    agent = _ok(api.post("/v2/voice-agents", json={"name": "moved", "llm": {
        "model": "m", "baseUrl": "http://127.0.0.1:9/v1", "apiKey": "sk-old-key-00001111"}}))
    with runtime.db.session() as session:  # as if HAMS_SECRET_KEY had changed since
        row = session.get(VoiceAgent, agent["id"])
        row.sealed_secrets = SecretBox("an-older-server-secret").seal_fields(
            {"llmApiKey": "sk-old-key-00001111"})
    assert _ok(api.get(f"/v2/voice-agents/{agent['id']}"))["llm"]["apiKey"] is None
    with runtime.db.session() as session, pytest.raises(SealedSecretUnreadable) as refused:
        agent_llm(session.get(VoiceAgent, agent["id"]), settings=runtime.settings,
                  secrets=runtime.secrets)
    assert refused.value.status_code == 503 and "HAMS_SECRET_KEY" in refused.value.message
    again = _ok(api.patch(f"/v2/voice-agents/{agent['id']}",
                          json={"llm": {"apiKey": "sk-new-key-22223333"}}))
    assert again["llm"]["apiKey"] == "sk-…3333"


def test_any_key_of_the_project_can_clone_its_templates(api, runtime):
    template = _ok(api.post("/v1/voice-agents", json={"agentName": "tpl", "isTemplate": True}))
    _, second_secret = make_key(runtime, api.project)
    clone = api.post(f"/v1/voice-agents/clone?voiceAgentId={template['id']}",
                     headers={"Authorization": f"Token {second_secret}"})
    copied = _ok(clone)
    assert copied["agentName"] == "tpl (copy)" and copied["projectId"] == api.project.id


def test_json_and_text_that_a_database_cannot_store_are_refused_as_400(api):
    nan = '{"agentName": "x", "params": {"a": NaN}}'
    for body in (nan, nan.replace("NaN", "Infinity")):
        refused = api.post("/v1/voice-agents", content=body,
                           headers={"Content-Type": "application/json"})
        assert _fields(_error(refused)) == {"params"}
    refused = api.post("/v2/voice-agents", content='{"name": "x", "workflow": {"nodes": '
                       '[{"id": "a", "weight": -Infinity}]}}',
                       headers={"Content-Type": "application/json"})
    assert _fields(_error(refused)) == {"workflow"}
    refused = api.post("/v1/voice-agents", content='{"agentName": "x", "tools": {"g": NaN}}',
                       headers={"Content-Type": "application/json"})
    assert _fields(_error(refused)) == {"tools"}
    assert _fields(_error(api.post("/v1/voice-agents", json={"agentName": "a\u0000b"}))) == {
        "agentName"}
    for path in ("/v1/voice-agents/abc%00def", "/v2/voice-agents?search=a%00",
                 "/v1/voice-agents/clone?voiceAgentId=%00"):
        response = api.post(path) if "clone" in path else api.get(path)
        assert _error(response)["messageKey"] == "VALIDATION_ERROR", path
    assert _fields(_error(api.get("/v2/voice-agents?language[]=fr"))) == {"language[]"}
    _ok(api.post("/v1/voice-agents", json={"agentName": "50%_off"}))
    _ok(api.post("/v1/voice-agents", json={"agentName": "plain"}))
    assert [a["name"] for a in _ok(api.get("/v2/voice-agents?search=%_"))["voiceAgents"]] == [
        "50%_off"]  # LIKE wildcards in a search are literal


def test_a_stored_url_that_stopped_resolving_does_not_block_other_changes(api, runtime):
    agent = _ok(api.post("/v1/voice-agents", json={"agentName": "old hook"}))
    with runtime.db.session() as session:
        row = session.get(VoiceAgent, agent["id"])
        row.config = {**row.config, "webhookUrl": "http://hooks.invalid/agent"}
    renamed = _ok(api.patch(f"/v1/voice-agents/{agent['id']}", json={"agentName": "renamed"}))
    assert renamed["agentName"] == "renamed"
    assert renamed["webhookUrl"] == "http://hooks.invalid/agent"
    sent = api.patch(f"/v1/voice-agents/{agent['id']}",
                     json={"webhookUrl": "http://hooks.invalid/other"})
    assert _error(sent)["messageKey"] == "URL_REFUSED"


def test_concurrent_updates_of_one_agent_take_turns(api, runtime):
    with runtime.db.session() as session:
        items = [KnowledgeItem(project_id=api.project.id, item_name=f"i{n}", type="TEXT",
                               status="PROCESSED", content="x", item_urls=[])
                 for n in range(4)]
        session.add_all(items)
        session.flush()
        item_ids = [item.id for item in items]
    agent = _ok(api.post("/v1/voice-agents", json={"agentName": "busy"}))

    def patch(n: int) -> int:
        body = {"knowledgeBaseItemsIds": item_ids[n % 4:] + item_ids[: n % 4],
                "silenceThreshold": 100 + n}
        return api.patch(f"/v1/voice-agents/{agent['id']}", json=body).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(patch, range(24)))
    assert statuses == [200] * 24
    final = _ok(api.get(f"/v1/voice-agents/{agent['id']}"))
    assert sorted(final["knowledgeBaseItemsIds"]) == sorted(item_ids)
