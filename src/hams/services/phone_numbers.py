"""Phone numbers (Twilio, SIP trunk) as records of a project, each assigned to at most one
agent and an agent to at most one number. Twilio's auth token and the SIP password are sealed
at rest (``SecretBox``) and only :func:`twilio_credentials` and :func:`sip_trunk` open them,
for the calls a later version places; until then :func:`place_call` checks what a call names
and answers ``NotAvailableYet``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hams.db.models import PhoneNumber, VoiceAgent
from hams.errors import Conflict, NotAvailableYet, NotFound, ValidationFailed
from hams.sealing import SecretBox
from hams.services.keys import Principal

field_error = ValidationFailed.at_field  # a 400 naming the field at fault

TWILIO, SIP = "TWILIO", "SIP"
NUMBER_TYPES = (TWILIO, SIP)
SIP_TRANSPORTS = ("UDP", "TCP")
DEFAULT_SIP_TRANSPORT = "UDP"  # SIP's own default transport
UNASSIGNED = "Voice agents were successfully unassigned from the phone number."

_FORMATTING = re.compile(r"[\s\-().]")  # what people write inside a number: + 966 (11) 234-5678
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")  # + and 8 to 15 digits, no leading zero
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_NUMBER_SID = re.compile(r"PN[0-9a-fA-F]{32}")
_AUTH_TOKEN, _SIP_PASSWORD = "twilioAuthToken", "sipPassword"  # names inside sealed_secrets


def normalize_number(value: str) -> str:
    """The number in E.164 (``+9661234567``) from what a person typed (spaces, dashes, dots,
    parentheses are dropped); ValueError, with what is expected, when it is not one."""
    number = _FORMATTING.sub("", value)
    if not _E164.fullmatch(number):
        raise ValueError("must be a phone number in E.164 form: + and the country code, "
                         "8 to 15 digits in all (e.g. +966112345678)")
    return number


def check_account_sid(value: str) -> str:
    if not _ACCOUNT_SID.fullmatch(value):
        raise ValueError("must be a Twilio account SID: AC and 32 hexadecimal digits")
    return value


def check_number_sid(value: str) -> str:
    if not _NUMBER_SID.fullmatch(value):
        raise ValueError("must be a Twilio phone-number SID: PN and 32 hexadecimal digits")
    return value


@dataclass(frozen=True)
class SipOutbound:
    """Where calls from this number go out: the trunk's address, transport and headers, and
    the digest username (its password travels apart, sealed)."""

    address: str
    transport: str = DEFAULT_SIP_TRANSPORT
    headers: dict[str, str] = field(default_factory=dict)
    username: str | None = None


@dataclass(frozen=True)
class NumberRequest:
    """A number to add, as checked by the wire model (E.164, SID forms); what each type needs
    is checked here, by :func:`add_number`."""

    type: str
    number: str
    label: str | None = None
    twilio_account_sid: str | None = None
    twilio_number_sid: str | None = None
    twilio_auth_token: str | None = None
    origination_uri: str | None = None
    outbound: SipOutbound | None = None
    sip_password: str | None = None


@dataclass(frozen=True)
class NumberRecord:
    """A number with the agent it is assigned to (None when unassigned)."""

    number: PhoneNumber
    agent: VoiceAgent | None


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str
    number_sid: str | None
    number: str


@dataclass(frozen=True)
class SipTrunk:
    number: str
    outbound: SipOutbound | None
    password: str | None
    origination_uri: str | None


@dataclass(frozen=True)
class CallRequest:
    """A call as a client asks for it: to whom, from which of the project's numbers (None: the
    agent's own number), with which agent (or an inline ``agent_details``)."""

    to_number: str
    from_number: str | None
    voice_agent_id: str | None
    agent_details: dict[str, Any] | None = None
    twilio_only: bool = False  # POST /v1/voice-agents/twilio/call: a Twilio number
    from_field: str = "phoneNumber"  # how the route names the number it calls from


def check_request(request: NumberRequest) -> None:
    """What each type needs, and nothing of the other type: a 400 naming the field."""
    if request.type == TWILIO:
        for name, value in (("twilioAccountSid", request.twilio_account_sid),
                            ("twilioAuthToken", request.twilio_auth_token)):
            if not value:
                raise field_error(name, "is required for a TWILIO number")
        for name, present in (("sipInboundConfigs", request.origination_uri is not None),
                              ("sipOutboundConfigs", request.outbound is not None)):
            if present:
                raise field_error(name, "is only for SIP numbers")
        return
    for name, value in (("twilioAccountSid", request.twilio_account_sid),
                        ("twilioNumberSid", request.twilio_number_sid),
                        ("twilioAuthToken", request.twilio_auth_token)):
        if value:
            raise field_error(name, "is only for TWILIO numbers")
    if request.sip_password and not (request.outbound and request.outbound.username):
        raise field_error("sipOutboundConfigs.username", "is required with a password")


def _sip_column(request: NumberRequest) -> dict[str, Any] | None:
    """The SIP configuration as stored (the wire's names, no password)."""
    if request.type != SIP:
        return None
    out = request.outbound
    return {"inbound": {"originationUri": request.origination_uri},
            "outbound": None if out is None else {
                "address": out.address, "transportType": out.transport,
                "customHeaders": dict(out.headers), "username": out.username}}


def add_number(session: Session, principal: Principal, request: NumberRequest, *,
               secrets: SecretBox) -> NumberRecord:
    """A new, unassigned number; 409 when the project has it already."""
    check_request(request)
    if _by_number(session, principal, request.number) is not None:
        raise _duplicate(request.number)
    row = PhoneNumber(
        project_id=principal.project_id, number=request.number, label=request.label,
        type=request.type, twilio_account_sid=request.twilio_account_sid,
        twilio_number_sid=request.twilio_number_sid, sip=_sip_column(request),
        sealed_secrets=secrets.seal_fields({_AUTH_TOKEN: request.twilio_auth_token,
                                            _SIP_PASSWORD: request.sip_password}),
        is_active=True)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:  # the same number added at the same time
        raise _duplicate(request.number) from exc
    return NumberRecord(row, None)


def _duplicate(number: str) -> Conflict:
    return Conflict(f"The phone number {number} is already in this project",
                    message_key="PHONE_NUMBER_EXISTS", data={"phoneNumber": number})


def _by_number(session: Session, principal: Principal, number: str) -> PhoneNumber | None:
    return session.scalar(select(PhoneNumber).where(
        PhoneNumber.project_id == principal.project_id, PhoneNumber.number == number))


def _record(session: Session, row: PhoneNumber) -> NumberRecord:
    agent = session.get(VoiceAgent, row.voice_agent_id) if row.voice_agent_id else None
    return NumberRecord(row, agent)


def get_number(session: Session, principal: Principal, number_id: str) -> NumberRecord:
    row = session.get(PhoneNumber, number_id)
    if row is None or row.project_id != principal.project_id:
        raise NotFound("Phone number not found", data={"pid": number_id})
    return _record(session, row)


def find_number(session: Session, principal: Principal, number: str, *,
                provider: str | None = None) -> PhoneNumber:
    """The project's number (E.164), of ``provider`` (TWILIO, SIP) when given; 404
    otherwise."""
    row = _by_number(session, principal, number)
    if row is None or (provider is not None and row.type != provider):
        kind = {TWILIO: "Twilio phone number", SIP: "SIP phone number"}.get(
            provider or "", "phone number")
        raise NotFound(f"No {kind} {number} in this project", data={"phoneNumber": number})
    return row


def get_agent(session: Session, principal: Principal, agent_id: str) -> VoiceAgent:
    agent = session.get(VoiceAgent, agent_id)
    if agent is None or agent.project_id != principal.project_id:
        raise NotFound("Voice agent not found", data={"voiceAgentId": agent_id})
    return agent


def list_numbers(session: Session, principal: Principal, *, voice_agent_id: str | None = None,
                 provider: str | None = None, page: int = 1, per_page: int = 10
                 ) -> list[NumberRecord]:
    """A page of the project's numbers, newest first, with their agents."""
    query = (select(PhoneNumber, VoiceAgent)
             .outerjoin(VoiceAgent, VoiceAgent.id == PhoneNumber.voice_agent_id)
             .where(PhoneNumber.project_id == principal.project_id))
    if voice_agent_id is not None:
        query = query.where(PhoneNumber.voice_agent_id == voice_agent_id)
    if provider is not None:
        query = query.where(PhoneNumber.type == provider)
    query = (query.order_by(PhoneNumber.created_at.desc(), PhoneNumber.id.desc())
             .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return [NumberRecord(number, agent) for number, agent in session.execute(query)]


def assign_number(session: Session, principal: Principal, number: str, agent_id: str, *,
                  provider: str | None = None) -> NumberRecord:
    """Assign the number to the agent. One number ↔ one agent: the number leaves the agent it
    had, and the agent's previous number (if any) becomes unassigned."""
    row = find_number(session, principal, number, provider=provider)
    agent = get_agent(session, principal, agent_id)
    if row.voice_agent_id == agent.id:
        return NumberRecord(row, agent)
    try:
        with session.begin_nested():
            previous = session.scalar(select(PhoneNumber).where(
                PhoneNumber.voice_agent_id == agent.id))
            if previous is not None:
                previous.voice_agent_id = None
                session.flush()  # free the agent before the unique index sees it twice
            row.voice_agent_id = agent.id
    except IntegrityError as exc:  # the agent was given another number at the same time
        raise Conflict("The agent's phone number changed at the same time; send the request "
                       "again") from exc
    return NumberRecord(row, agent)


def unassign_number(session: Session, principal: Principal, number: str) -> PhoneNumber:
    """The number's agent removed (already unassigned is fine)."""
    row = find_number(session, principal, number)
    row.voice_agent_id = None
    session.flush()
    return row


def delete_number(session: Session, principal: Principal, number_id: str) -> NumberRecord:
    """The number removed; returned as it was."""
    record = get_number(session, principal, number_id)
    session.delete(record.number)
    session.flush()
    return record


def twilio_credentials(session: Session, principal: Principal, number: str, *,
                       secrets: SecretBox) -> TwilioCredentials:
    """What a Twilio call from the project's ``number`` needs, the auth token opened."""
    row = find_number(session, principal, number, provider=TWILIO)
    opened = secrets.open_fields(row.sealed_secrets)
    return TwilioCredentials(account_sid=row.twilio_account_sid or "",
                             auth_token=opened.get(_AUTH_TOKEN, ""),
                             number_sid=row.twilio_number_sid, number=row.number)


def sip_trunk(session: Session, principal: Principal, number: str, *,
              secrets: SecretBox) -> SipTrunk:
    """What a SIP call from the project's ``number`` needs, the password opened."""
    row = find_number(session, principal, number, provider=SIP)
    sip = row.sip or {}
    out = sip.get("outbound")
    outbound = None if out is None else SipOutbound(
        address=out["address"], transport=out.get("transportType", DEFAULT_SIP_TRANSPORT),
        headers=dict(out.get("customHeaders") or {}), username=out.get("username"))
    return SipTrunk(number=row.number, outbound=outbound,
                    password=secrets.open_fields(row.sealed_secrets).get(_SIP_PASSWORD),
                    origination_uri=(sip.get("inbound") or {}).get("originationUri"))


def place_call(session: Session, principal: Principal, call: CallRequest) -> NoReturn:
    """Check what the call names (the agent, the number it calls from: 404 when not the
    project's), then refuse it: hams cannot place phone calls yet (501)."""
    agent = get_agent(session, principal, call.voice_agent_id) if call.voice_agent_id else None
    if agent is None and call.agent_details is None:
        raise field_error("voiceAgentId", "is required (or agentDetails)")
    if call.from_number is not None:
        source = find_number(session, principal, call.from_number,
                             provider=TWILIO if call.twilio_only else None)
    elif agent is not None:
        source = session.scalar(select(PhoneNumber).where(
            PhoneNumber.voice_agent_id == agent.id))
        if source is None:
            raise field_error(call.from_field,
                              "is required: the agent has no phone number assigned")
    else:
        raise field_error(call.from_field, "is required")
    raise NotAvailableYet(
        f"Placing phone calls is not available in this version of hams yet: it has no "
        f"telephony connection ({'Twilio' if source.type == TWILIO else 'SIP trunk'}) to call "
        f"{call.to_number} from {source.number}. Numbers and their assignments are stored; "
        f"calls over them come in a later version.",
        data={"phoneNumber": source.number, "toNumber": call.to_number,
              "voiceAgentId": agent.id if agent else None})
