"""Phone numbers: ``client.phone_numbers``, one definition for both clients.

Numbers are records assigned to agents (one number, one agent). Calls are refused by hams for
now (501, a :class:`~hams.client.ServerError` that is not retried)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hams.client._http import ApiRequest
from hams.client._ops import Op, WebhookAuth, body_of, data_of, operation, segment
from hams.client._ops import webhook_auth_body as auth_body
from hams.client._resource import Resource, camel_fields
from hams.client.models import PhoneNumber

BASE = "/v1/voice-agents"
NUMBERS = BASE + "/phone-number"
SIP_SECTIONS = ("sipInboundConfigs", "sipOutboundConfigs")


class PhoneNumbers(Resource):
    """``client.phone_numbers``: add, read, list, assign and delete Twilio and SIP numbers."""

    @operation
    def add(self, phone_number: str, *, type: str, label: str | None = None, **fields: Any
            ) -> Op[PhoneNumber]:
        """Add a number (E.164; spaces and dashes are dropped by the server) of ``type``
        "TWILIO" (``twilio_account_sid``, ``twilio_auth_token``, ``twilio_number_sid``) or
        "SIP" (``sip_outbound_configs={"address": ..., "username": ..., "password": ...}``,
        ``sip_inbound_configs``)."""
        return (yield from self._add(phone_number, type, label, camel_fields(
            fields, SIP_SECTIONS)))

    def _add(self, phone_number: str, type: str, label: str | None,
             fields: dict[str, Any]) -> Op[PhoneNumber]:
        body = {**fields, **body_of(type=type.upper(), phoneNumber=phone_number, label=label)}
        response = yield ApiRequest("POST", NUMBERS, json=body)
        return PhoneNumber.model_validate(data_of(response))

    @operation
    def add_twilio(self, phone_number: str, *, account_sid: str, auth_token: str,
                   number_sid: str | None = None, label: str | None = None
                   ) -> Op[PhoneNumber]:
        """A Twilio number; the auth token is stored sealed and never answered."""
        return (yield from self._add(phone_number, "TWILIO", label, body_of(
            twilioAccountSid=account_sid, twilioAuthToken=auth_token,
            twilioNumberSid=number_sid)))

    @operation
    def add_sip(self, phone_number: str, *, address: str, transport: str | None = None,
                username: str | None = None, password: str | None = None,
                custom_headers: Mapping[str, str] | None = None,
                origination_uri: str | None = None, label: str | None = None
                ) -> Op[PhoneNumber]:
        """A number on a SIP trunk: ``address`` (host[:port] or a sip: URI), ``transport``
        UDP | TCP, digest ``username``/``password`` (sealed, never answered)."""
        outbound = body_of(address=address, transportType=transport, username=username,
                           password=password,
                           customHeaders=dict(custom_headers) if custom_headers else None)
        inbound = body_of(originationUri=origination_uri) or None
        return (yield from self._add(phone_number, "SIP", label, body_of(
            sipOutboundConfigs=outbound, sipInboundConfigs=inbound)))

    @operation
    def get(self, number_id: str) -> Op[PhoneNumber]:
        response = yield ApiRequest("GET", NUMBERS, params={"pid": number_id})
        return PhoneNumber.model_validate(data_of(response))

    @operation
    def list(self, *, page: int = 1, per_page: int = 10, agent_id: str | None = None,
             provider: str | None = None) -> Op[list[PhoneNumber]]:
        """One page of the project's numbers, newest first; only ``agent_id``'s, or only one
        ``provider`` (TWILIO | SIP), when given."""
        response = yield ApiRequest("GET", NUMBERS + "/list", params=dict(
            skip=page, take=per_page, voiceAgentId=agent_id, provider=provider))
        return [PhoneNumber.model_validate(row) for row in data_of(response)]

    @operation
    def assign(self, phone_number: str, agent_id: str) -> Op[PhoneNumber]:
        """Give the number to the agent; the pairings it replaces are undone."""
        response = yield ApiRequest("POST", BASE + "/assign-number", idempotent=True,
                                    json={"phoneNumber": phone_number, "voiceAgentId": agent_id})
        return PhoneNumber.model_validate(data_of(response))

    @operation
    def unassign(self, phone_number: str) -> Op[None]:
        yield ApiRequest("POST", BASE + "/unassign", idempotent=True,
                         json={"phoneNumber": phone_number})

    @operation
    def delete(self, number_id: str) -> Op[PhoneNumber]:
        """Remove a number (a hams extension); returns it as it was."""
        response = yield ApiRequest("DELETE", f"{NUMBERS}/{segment(number_id)}")
        return PhoneNumber.model_validate(data_of(response))

    @operation
    def call(self, to_number: str, *, agent_id: str | None = None,
             from_number: str | None = None, params: Mapping[str, Any] | None = None,
             webhook_url: str | None = None, webhook_auth: WebhookAuth | None = None
             ) -> Op[dict[str, Any]]:
        """Start a call (``{jobId, voiceAgentId}``). hams cannot place calls yet: it checks
        the agent and numbers, then answers 501 (ServerError)."""
        response = yield ApiRequest("POST", BASE + "/call", json=body_of(
            toNumber=to_number, voiceAgentId=agent_id, fromNumber=from_number,
            params=dict(params) if params else None, webhookUrl=webhook_url,
            webhookAuth=auth_body(webhook_auth)))
        return data_of(response)
