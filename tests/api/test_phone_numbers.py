"""Phone numbers as records (Twilio, SIP): add, read, list, assign one number to one agent,
delete; secrets sealed at rest and never answered; the call routes answer 501 after checking
the key, the body and what the call names."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hams.db.models import PhoneNumber, VoiceAgent
from hams.runtime import Runtime
from hams.services import phone_numbers
from tests.factories import api_client

BASE = "/v1/voice-agents"
PATH = BASE + "/phone-number"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
NUMBER_SID = "PN" + "fedcba9876543210" * 2
AUTH_TOKEN = "tw1l10authT0kenPlainValue7f3a"  # searched for in every answer
SIP_PASSWORD = "s1pPa55wordPlainValue9c2e"
PHONE_NUMBER_FIELDS = ["id", "number", "label", "type", "userId", "sipInboundConfigs",
                       "sipOutboundConfigs", "voiceAgentId", "voiceAgent", "createdAt",
                       "updatedAt"]
TWILIO_FIELDS = ["id", "number", "label", "numberSid", "isActive", "userId", "voiceAgentId"]


def twilio_body(number: str = "+966 11 234-5678", **extra) -> dict:
    return {"type": "TWILIO", "phoneNumber": number, "label": "Riyadh line",
            "twilioAccountSid": ACCOUNT_SID, "twilioAuthToken": AUTH_TOKEN, **extra}


def twilio_route_body(number: str = "+1 (415) 555-0100", **extra) -> dict:
    return {"phoneNumber": number, "label": "US line", "twilioNumberSid": NUMBER_SID,
            "twilioAccountSid": ACCOUNT_SID, "twilioAuthToken": AUTH_TOKEN, **extra}


def sip_body(number: str = "+971 4 555 0100", **extra) -> dict:
    return {"type": "SIP", "phoneNumber": number, "label": "Dubai trunk",
            "sipOutboundConfigs": {"address": "sip.carrier.example:5060", "transportType": "tcp",
                                   "customHeaders": {"X-Tenant": "hams"},
                                   "username": "trunk-user", "password": SIP_PASSWORD},
            **extra}


def add(api: TestClient, body: dict, route: str = PATH) -> dict:
    response = api.post(route, json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def make_agent(runtime: Runtime, project_id: str, name: str = "Sara") -> str:
    with runtime.db.session() as session:
        agent = VoiceAgent(project_id=project_id, name=name, config={})
        session.add(agent)
        session.flush()
        return agent.id


def load_number(runtime: Runtime, number_id: str) -> PhoneNumber:
    with runtime.db.session() as session:
        row = session.get(PhoneNumber, number_id)
        assert row is not None
        return row


def fault(response) -> list[str]:
    """The fields a 400 names."""
    assert response.status_code == 400, response.text
    envelope = response.json()
    assert envelope["success"] is False and envelope["messageKey"] == "VALIDATION_ERROR"
    return [f["field"] for f in envelope["data"]]


# --- adding and reading ------------------------------------------------------------------------


def test_twilio_number_is_stored_normalized_as_a_phone_number_object(api):
    response = api.post(PATH, json=twilio_body())
    envelope = response.json()
    assert response.status_code == 200
    assert envelope["success"] is True and envelope["message"] == "Success"
    data = envelope["data"]
    assert list(data) == PHONE_NUMBER_FIELDS
    assert data["number"] == "+966112345678" and data["type"] == "TWILIO"
    assert data["label"] == "Riyadh line" and data["userId"] is None
    assert data["sipInboundConfigs"] is None and data["sipOutboundConfigs"] is None
    assert data["voiceAgentId"] is None and data["voiceAgent"] is None
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    assert api.get(PATH, params={"pid": data["id"]}).json()["data"] == data


def test_twilio_route_answers_the_twilio_number_object(api, runtime):
    data = add(api, twilio_route_body(), BASE + "/twilio/phone-number")
    assert list(data) == TWILIO_FIELDS
    assert data["number"] == "+14155550100" and data["numberSid"] == NUMBER_SID
    assert data["isActive"] is True and data["userId"] is None and data["voiceAgentId"] is None
    row = load_number(runtime, data["id"])
    assert (row.type, row.twilio_account_sid, row.twilio_number_sid) == (
        "TWILIO", ACCOUNT_SID, NUMBER_SID)
    assert api.get(PATH, params={"pid": data["id"]}).json()["data"]["type"] == "TWILIO"


def test_sip_number_keeps_its_trunk_without_the_password(api):
    data = add(api, sip_body(sipInboundConfigs={}))
    assert data["type"] == "SIP" and data["number"] == "+97145550100"
    assert data["sipInboundConfigs"] == {"originationUri": None}
    assert data["sipOutboundConfigs"] == {
        "address": "sip.carrier.example:5060", "transportType": "TCP",
        "customHeaders": {"X-Tenant": "hams"}, "username": "trunk-user"}
    inbound = add(api, {"type": "sip", "phoneNumber": "+20 2 1234 5678", "sipInboundConfigs": {
        "originationUri": "sip:hams@pbx.example.com"}})
    assert inbound["sipInboundConfigs"] == {"originationUri": "sip:hams@pbx.example.com"}
    assert inbound["sipOutboundConfigs"] is None and inbound["label"] is None


def test_secrets_are_sealed_at_rest_and_in_no_answer(api, runtime):
    twilio = add(api, twilio_body())
    sip = add(api, sip_body())
    agent_id = make_agent(runtime, api.project.id)
    answers = [
        api.post(BASE + "/twilio/phone-number", json=twilio_route_body()),
        api.get(PATH, params={"pid": twilio["id"]}),
        api.get(PATH, params={"pid": sip["id"]}),
        api.get(PATH + "/list"),
        api.post(BASE + "/assign-number", json={"voiceAgentId": agent_id,
                                                "phoneNumber": sip["number"]}),
        api.post(BASE + "/twilio/assign-number", json={"voiceAgentId": agent_id,
                                                       "twilioPhoneNumber": twilio["number"]}),
        api.post(PATH, json=twilio_body()),  # the 409 names the number, not the token
        api.post(BASE + "/phone-number/call", json={"toNumber": "+966500000001",
                                                    "phoneNumber": twilio["number"],
                                                    "voiceAgentId": agent_id}),
    ]
    for response in answers:
        assert response.status_code in (200, 409, 501), response.text
        assert AUTH_TOKEN not in response.text and SIP_PASSWORD not in response.text
    for number_id, name, plain in ((twilio["id"], "twilioAuthToken", AUTH_TOKEN),
                                   (sip["id"], "sipPassword", SIP_PASSWORD)):
        row = load_number(runtime, number_id)
        assert plain not in row.sealed_secrets and plain not in str(row.sip)
        assert runtime.secrets.open_fields(row.sealed_secrets) == {name: plain}
    deleted = api.delete(f"{PATH}/{sip['id']}")
    assert deleted.status_code == 200 and SIP_PASSWORD not in deleted.text


def test_calls_issue_reads_the_credentials_through_the_service(api, runtime):
    add(api, twilio_body())
    add(api, sip_body())
    with runtime.db.session() as session:
        twilio = phone_numbers.twilio_credentials(session, api.principal, "+966112345678",
                                                  secrets=runtime.secrets)
        trunk = phone_numbers.sip_trunk(session, api.principal, "+97145550100",
                                        secrets=runtime.secrets)
    assert (twilio.account_sid, twilio.auth_token, twilio.number_sid) == (
        ACCOUNT_SID, AUTH_TOKEN, None)
    assert trunk.password == SIP_PASSWORD and trunk.origination_uri is None
    assert trunk.outbound == phone_numbers.SipOutbound(
        address="sip.carrier.example:5060", transport="TCP", headers={"X-Tenant": "hams"},
        username="trunk-user")


def test_unknown_number_id_is_not_found(api):
    response = api.get(PATH, params={"pid": "00000000-0000-0000-0000-000000000000"})
    assert response.status_code == 404 and response.json()["messageKey"] == "NOT_FOUND"
    assert fault(api.get(PATH)) == ["pid"]


def test_duplicate_number_is_a_conflict_in_one_project_only(api, runtime):
    add(api, twilio_body("+966112345678"))
    again = api.post(PATH, json=sip_body("+966-11-234-5678"))
    assert again.status_code == 409, again.text
    assert again.json()["messageKey"] == "PHONE_NUMBER_EXISTS"
    assert again.json()["data"] == {"phoneNumber": "+966112345678"}
    twilio_again = api.post(BASE + "/twilio/phone-number",
                            json=twilio_route_body("+966 11 234 5678"))
    assert twilio_again.status_code == 409
    with api_client(runtime) as other:
        assert add(other, twilio_body("+966112345678"))["number"] == "+966112345678"


# --- validation --------------------------------------------------------------------------------

BAD_BODIES = [
    (PATH, twilio_body("0112345678"), ["phoneNumber"]),
    (PATH, twilio_body("+966 12"), ["phoneNumber"]),
    (PATH, twilio_body("+0966112345678"), ["phoneNumber"]),
    (PATH, twilio_body(twilioAccountSid="AB" + "0" * 32), ["twilioAccountSid"]),
    (PATH, twilio_body(twilioNumberSid="PN123"), ["twilioNumberSid"]),
    (PATH, twilio_body(twilioAuthToken=None), ["twilioAuthToken"]),
    (PATH, twilio_body(twilioAccountSid=None), ["twilioAccountSid"]),
    (PATH, twilio_body(sipOutboundConfigs={"address": "sip.example.com"}),
     ["sipOutboundConfigs"]),
    (PATH, twilio_body(type="FAX"), ["type"]),
    (PATH, {"phoneNumber": "+966112345678"}, ["type"]),
    (PATH, sip_body(twilioAccountSid=ACCOUNT_SID), ["twilioAccountSid"]),
    (PATH, sip_body(sipOutboundConfigs={"address": "sip.example.com", "transportType": "SCTP"}),
     ["sipOutboundConfigs.transportType"]),
    (PATH, sip_body(sipOutboundConfigs={"address": "not a host"}),
     ["sipOutboundConfigs.address"]),
    (PATH, sip_body(sipOutboundConfigs={"address": "sip.example.com", "password": "x1"}),
     ["sipOutboundConfigs.username"]),
    (PATH, sip_body(sipOutboundConfigs={"address": "sip.example.com",
                                        "customHeaders": {"X-A": "one\r\nInjected: yes"}}),
     ["sipOutboundConfigs.customHeaders.X-A"]),
    (BASE + "/twilio/phone-number", twilio_route_body(twilioNumberSid="AC" + "0" * 32),
     ["twilioNumberSid"]),
    (BASE + "/twilio/phone-number", {"phoneNumber": "+966112345678"},
     ["twilioNumberSid", "twilioAccountSid", "twilioAuthToken"]),
    (BASE + "/assign-number", {"phoneNumber": "+966112345678"}, ["voiceAgentId"]),
    (BASE + "/assign-number", {"phoneNumber": "12", "voiceAgentId": "a"}, ["phoneNumber"]),
    (BASE + "/twilio/assign-number", {"voiceAgentId": "a"}, ["twilioPhoneNumber"]),
    (BASE + "/unassign", {"phoneNumber": "call me"}, ["phoneNumber"]),
]


@pytest.mark.parametrize("path, body, fields", BAD_BODIES)
def test_bad_bodies_name_their_fields(api, path, body, fields):
    assert fault(api.post(path, json=body)) == fields


@pytest.mark.parametrize("params, field", [
    ({"take": 0}, "take"), ({"take": 1001}, "take"), ({"skip": -1}, "skip"),
    ({"skip": 99_999_999_999_999_999_999}, "skip"), ({"take": "ten"}, "take"),
    ({"provider": "FAX"}, "provider"), ({"voiceAgentId": "x" * 101}, "voiceAgentId"),
])
def test_bad_list_parameters_name_their_fields(api, params, field):
    assert fault(api.get(PATH + "/list", params=params)) == [field]


# --- lists -------------------------------------------------------------------------------------


def test_list_filters_and_pages(api, runtime):
    twilio = [add(api, twilio_body(f"+96611234560{i}"))["id"] for i in range(3)]
    sip = [add(api, sip_body(f"+97145550{i}00"))["id"] for i in range(2)]
    agent_id = make_agent(runtime, api.project.id, "Nour")
    api.post(BASE + "/assign-number", json={"voiceAgentId": agent_id,
                                            "phoneNumber": "+97145550100"})
    with api_client(runtime) as other:
        add(other, twilio_body("+966112345609"))

    everything = api.get(PATH + "/list").json()
    assert everything["success"] is True and everything["message"] == "Success"
    listed = everything["data"]
    assert sorted(n["id"] for n in listed) == sorted(twilio + sip)
    assert [n["createdAt"] for n in listed] == sorted((n["createdAt"] for n in listed),
                                                      reverse=True)
    by_type = {p: [n["id"] for n in api.get(PATH + "/list", params={"provider": p})
                   .json()["data"]] for p in ("TWILIO", "SIP", "sip")}
    assert sorted(by_type["TWILIO"]) == sorted(twilio)
    assert sorted(by_type["SIP"]) == sorted(sip) == sorted(by_type["sip"])
    assigned = api.get(PATH + "/list", params={"voiceAgentId": agent_id}).json()["data"]
    assert [n["id"] for n in assigned] == [sip[1]]
    assert assigned[0]["voiceAgent"] == {"id": agent_id, "name": "Nour"}
    assert api.get(PATH + "/list", params={"voiceAgentId": agent_id,
                                           "provider": "TWILIO"}).json()["data"] == []

    pages = [[n["id"] for n in api.get(PATH + "/list", params={"take": "2", "skip": str(page)})
              .json()["data"]] for page in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    assert [i for p in pages for i in p] == [n["id"] for n in listed]
    first = api.get(PATH + "/list", params={"take": 2, "skip": 0}).json()["data"]
    assert [n["id"] for n in first] == pages[0]  # skip 0 is the first page, as skip 1
    many = [add(api, twilio_body(f"+9661234567{i:02d}"))["id"] for i in range(8)]
    assert len(api.get(PATH + "/list").json()["data"]) == 10  # take defaults to 10
    assert len(many) == 8


# --- assignment --------------------------------------------------------------------------------


def test_one_number_to_one_agent(api, runtime):
    first = add(api, twilio_body("+966112345601"))
    second = add(api, twilio_body("+966112345602"))
    sip = add(api, sip_body())
    amal, badr = make_agent(runtime, api.project.id, "Amal"), make_agent(runtime, api.project.id,
                                                                          "Badr")

    def assign(number: str, agent: str) -> dict:
        response = api.post(BASE + "/assign-number",
                            json={"voiceAgentId": agent, "phoneNumber": number})
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def agent_of(number_id: str) -> str | None:
        return api.get(PATH, params={"pid": number_id}).json()["data"]["voiceAgentId"]

    data = assign("+966 11 234 5601", amal)
    assert list(data) == PHONE_NUMBER_FIELDS
    assert data["voiceAgentId"] == amal and data["voiceAgent"] == {"id": amal, "name": "Amal"}
    assert assign("+966112345601", amal)["voiceAgentId"] == amal  # again: no change
    assert assign("+966112345601", badr)["voiceAgentId"] == badr  # the number moves to Badr
    assert agent_of(first["id"]) == badr
    assert assign("+966112345602", badr)["voiceAgentId"] == badr  # Badr's other number is
    assert agent_of(first["id"]) is None  # released: one agent, one number
    assert assign(sip["number"], amal)["voiceAgent"]["name"] == "Amal"

    twilio = api.post(BASE + "/twilio/assign-number",
                      json={"twilioPhoneNumber": "+966112345601", "voiceAgentId": amal})
    assert twilio.status_code == 200
    assert list(twilio.json()["data"]) == TWILIO_FIELDS
    assert twilio.json()["data"]["voiceAgentId"] == amal
    assert agent_of(sip["id"]) is None and agent_of(second["id"]) == badr
    not_twilio = api.post(BASE + "/twilio/assign-number",
                          json={"twilioPhoneNumber": sip["number"], "voiceAgentId": badr})
    assert not_twilio.status_code == 404

    for _ in range(2):  # unassigning an unassigned number is fine
        response = api.post(BASE + "/unassign", json={"phoneNumber": "+966-11-234-5601"})
        assert response.status_code == 200
        assert response.json()["data"] == phone_numbers.UNASSIGNED == (
            "Voice agents were successfully unassigned from the phone number.")
    gone = api.get(PATH, params={"pid": first["id"]}).json()["data"]
    assert gone["voiceAgentId"] is None and gone["voiceAgent"] is None
    with runtime.db.session() as session:
        assigned = session.query(PhoneNumber).filter(PhoneNumber.voice_agent_id.isnot(None))
        assert {(n.number, n.voice_agent_id) for n in assigned} == {("+966112345602", badr)}


def test_unknown_numbers_and_agents_are_not_found(api, runtime):
    agent_id = make_agent(runtime, api.project.id)
    add(api, twilio_body("+966112345601"))
    for body in ({"voiceAgentId": agent_id, "phoneNumber": "+966112345699"},
                 {"voiceAgentId": "no-such-agent", "phoneNumber": "+966112345601"}):
        assert api.post(BASE + "/assign-number", json=body).status_code == 404
    assert api.post(BASE + "/unassign", json={"phoneNumber": "+966112345699"}).status_code == 404


def test_another_projects_numbers_and_agents_are_not_found(api, runtime):
    mine = add(api, twilio_body("+966112345601"))
    my_agent = make_agent(runtime, api.project.id)
    with api_client(runtime) as other:
        theirs = add(other, twilio_body("+966112345602"))
        their_agent = make_agent(runtime, other.project.id)
        assert add(other, sip_body())["id"]
    checks = [
        api.get(PATH, params={"pid": theirs["id"]}),
        api.delete(f"{PATH}/{theirs['id']}"),
        api.delete(PATH, params={"pid": theirs["id"]}),
        api.post(BASE + "/assign-number", json={"voiceAgentId": my_agent,
                                                "phoneNumber": theirs["number"]}),
        api.post(BASE + "/assign-number", json={"voiceAgentId": their_agent,
                                                "phoneNumber": mine["number"]}),
        api.post(BASE + "/twilio/assign-number", json={"voiceAgentId": their_agent,
                                                       "twilioPhoneNumber": mine["number"]}),
        api.post(BASE + "/unassign", json={"phoneNumber": theirs["number"]}),
        api.post(BASE + "/phone-number/call", json={"toNumber": "+966500000001",
                                                    "phoneNumber": theirs["number"],
                                                    "voiceAgentId": my_agent}),
        api.post(BASE + "/twilio/call", json={"toNumber": "+966500000001",
                                              "twilioPhoneNumber": mine["number"],
                                              "voiceAgentId": their_agent}),
    ]
    for response in checks:
        assert response.status_code == 404, response.text
        assert response.json()["messageKey"] == "NOT_FOUND"
    assert [n["id"] for n in api.get(PATH + "/list").json()["data"]] == [mine["id"]]
    assert load_number(runtime, theirs["id"]).voice_agent_id is None


# --- delete ------------------------------------------------------------------------------------


def test_delete_by_id_or_pid_frees_the_number(api, runtime):
    agent_id = make_agent(runtime, api.project.id)
    first = add(api, twilio_body("+966112345601"))
    second = add(api, sip_body())
    api.post(BASE + "/assign-number", json={"voiceAgentId": agent_id,
                                            "phoneNumber": first["number"]})
    response = api.delete(f"{PATH}/{first['id']}")
    assert response.status_code == 200 and response.json()["message"] == "Phone number deleted"
    assert response.json()["data"]["id"] == first["id"]
    assert response.json()["data"]["voiceAgent"]["id"] == agent_id
    assert api.delete(PATH, params={"pid": second["id"]}).status_code == 200
    for number_id in (first["id"], second["id"]):
        assert api.get(PATH, params={"pid": number_id}).status_code == 404
        assert api.delete(f"{PATH}/{number_id}").status_code == 404
    assert api.get(PATH + "/list").json()["data"] == []
    again = add(api, twilio_body("+966112345601"))
    assert again["id"] != first["id"]
    assert api.post(BASE + "/assign-number", json={"voiceAgentId": agent_id,
                                                   "phoneNumber": again["number"]}
                    ).status_code == 200


# --- the call routes ---------------------------------------------------------------------------


def call(api: TestClient, route: str, **body):
    return api.post(f"{BASE}/{route}", json={"toNumber": "+966 50 000 0001", **body})


def test_call_routes_need_a_key(api):
    for route in ("call", "twilio/call", "phone-number/call"):
        response = api.post(f"{BASE}/{route}", json={}, headers={"Authorization": ""})
        assert response.status_code == 401, response.text


def test_call_routes_check_what_they_name_then_answer_501(api, runtime):
    agent_id = make_agent(runtime, api.project.id)
    idle_agent = make_agent(runtime, api.project.id, "Idle")
    twilio = add(api, twilio_body("+966112345601"))
    sip = add(api, sip_body())
    api.post(BASE + "/assign-number", json={"voiceAgentId": agent_id,
                                            "phoneNumber": twilio["number"]})

    not_found = [
        call(api, "call", voiceAgentId="no-such-agent"),
        call(api, "call", voiceAgentId=agent_id, fromNumber="+966112345699"),
        call(api, "twilio/call", voiceAgentId=agent_id, twilioPhoneNumber="+966112345699"),
        call(api, "twilio/call", voiceAgentId=agent_id, twilioPhoneNumber=sip["number"]),
        call(api, "phone-number/call", voiceAgentId="no-such-agent",
             phoneNumber=twilio["number"]),
    ]
    for response in not_found:
        assert response.status_code == 404, response.text
    assert fault(call(api, "call", voiceAgentId=idle_agent)) == ["fromNumber"]
    assert fault(call(api, "phone-number/call", phoneNumber=sip["number"])) == ["voiceAgentId"]
    assert fault(call(api, "twilio/call", voiceAgentId=agent_id)) == ["twilioPhoneNumber"]
    assert fault(call(api, "call", toNumber="tomorrow", voiceAgentId=agent_id)) == ["toNumber"]

    refused = [
        call(api, "call", voiceAgentId=agent_id),  # from the agent's own number
        call(api, "call", voiceAgentId=idle_agent, fromNumber=sip["number"]),
        call(api, "twilio/call", voiceAgentId=agent_id, twilioPhoneNumber=twilio["number"],
             params={"name": "Huda"}, webhookUrl="https://example.com/hook"),
        call(api, "phone-number/call", phoneNumber=sip["number"],
             agentDetails={"greetingMessage": "Hi"}),
    ]
    for response in refused:
        assert response.status_code == 501, response.text
        envelope = response.json()
        assert envelope["success"] is False and envelope["messageKey"] == "NOT_IMPLEMENTED"
        assert envelope["message"].startswith(
            "Placing phone calls is not available in this version of hams yet")
        assert envelope["data"]["toNumber"] == "+966500000001"
    assert refused[0].json()["data"]["phoneNumber"] == twilio["number"]
    assert "Twilio" in refused[0].json()["message"]
    assert "SIP" in refused[3].json()["message"]
