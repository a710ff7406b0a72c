"""Wire models of the phone numbers (Twilio, SIP trunk), their assignment to agents, and the
call routes' bodies. Secrets (Twilio's auth token, the SIP password) are taken, never given
back: no answer model has a field for them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from hams.api.schemas.common import HEADER_SAFE, ResponseModel, WebhookAuth, WireModel, iso
from hams.services.phone_numbers import (
    DEFAULT_SIP_TRANSPORT,
    SIP,
    TWILIO,
    CallRequest,
    NumberRecord,
    NumberRequest,
    SipOutbound,
    check_account_sid,
    check_number_sid,
    normalize_number,
)

NO_SPACES = r"^[^\s\x00-\x1f\x7f]+$"
PhoneNumberText = Annotated[str, Field(
    min_length=1, max_length=40, json_schema_extra={"pattern": r"^\+[1-9][0-9]{7,14}$"},
    description="E.164: + and 8 to 15 digits; spaces, dashes, dots and parentheses are "
                "dropped first"), AfterValidator(normalize_number)]
AccountSid = Annotated[str, Field(
    max_length=34, json_schema_extra={"pattern": "^AC[0-9a-fA-F]{32}$"},
    description="Twilio account SID: AC and 32 hexadecimal digits"),
    AfterValidator(check_account_sid)]
NumberSid = Annotated[str, Field(
    max_length=34, json_schema_extra={"pattern": "^PN[0-9a-fA-F]{32}$"},
    description="Twilio phone-number SID: PN and 32 hexadecimal digits"),
    AfterValidator(check_number_sid)]
Secret = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_SPACES,
                              description="Stored sealed; never returned")]
Label = Annotated[str | None, Field(max_length=200)]
AgentId = Annotated[str, Field(min_length=1, max_length=100)]
SipHeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
SipHeaderValue = Annotated[str, Field(max_length=1000, pattern=HEADER_SAFE)]
# host, host:port, [v6]:port or a sip:/sips: URI with user@ and ;parameters
SIP_ADDRESS = (r"^(sips?:)?([A-Za-z0-9._~+%!$&'*=,;-]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)"
               r"(:[0-9]{1,5})?(;[A-Za-z0-9=;._~+-]*)?$")


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Transport = Annotated[Literal["UDP", "TCP"], BeforeValidator(_upper)]
NumberType = Annotated[Literal["TWILIO", "SIP"], BeforeValidator(_upper)]


class SipInboundConfigs(WireModel):
    """Calls coming in: ``originationUri`` is where the trunk sends them (hams has no SIP
    stack yet, so it is only stored; null unless given)."""

    originationUri: str | None = Field(None, max_length=500, pattern=NO_SPACES)


class SipOutboundConfigs(WireModel):
    """Calls going out through the trunk: its address, transport, custom headers, and the
    digest username and password (the password is sealed and never returned)."""

    address: str = Field(min_length=1, max_length=255, pattern=SIP_ADDRESS)
    transportType: Transport = DEFAULT_SIP_TRANSPORT
    customHeaders: dict[SipHeaderName, SipHeaderValue] = Field(default_factory=dict,
                                                               max_length=20)
    username: str | None = Field(None, max_length=200, pattern=NO_SPACES)
    password: Secret | None = None


class PhoneNumberCreate(WireModel):
    """``POST /v1/voice-agents/phone-number``: a TWILIO number (twilioAccountSid and
    twilioAuthToken required, twilioNumberSid optional) or a SIP number (sipInboundConfigs,
    sipOutboundConfigs)."""

    type: NumberType
    phoneNumber: PhoneNumberText
    label: Label = None
    twilioAccountSid: AccountSid | None = None
    twilioNumberSid: NumberSid | None = None
    twilioAuthToken: Secret | None = None
    sipInboundConfigs: SipInboundConfigs | None = None
    sipOutboundConfigs: SipOutboundConfigs | None = None

    def request(self) -> NumberRequest:
        out = self.sipOutboundConfigs
        return NumberRequest(
            type=self.type, number=self.phoneNumber, label=self.label,
            twilio_account_sid=self.twilioAccountSid, twilio_number_sid=self.twilioNumberSid,
            twilio_auth_token=self.twilioAuthToken,
            origination_uri=self.sipInboundConfigs.originationUri
            if self.sipInboundConfigs else None,
            outbound=None if out is None else SipOutbound(
                address=out.address, transport=out.transportType,
                headers=dict(out.customHeaders), username=out.username),
            sip_password=out.password if out else None)


class TwilioNumberCreate(WireModel):
    """``POST /v1/voice-agents/twilio/phone-number``."""

    phoneNumber: PhoneNumberText
    label: Label = None
    twilioNumberSid: NumberSid
    twilioAccountSid: AccountSid
    twilioAuthToken: Secret

    def request(self) -> NumberRequest:
        return NumberRequest(type=TWILIO, number=self.phoneNumber, label=self.label,
                             twilio_account_sid=self.twilioAccountSid,
                             twilio_number_sid=self.twilioNumberSid,
                             twilio_auth_token=self.twilioAuthToken)


class NumberAssign(WireModel):
    voiceAgentId: AgentId
    phoneNumber: PhoneNumberText


class TwilioNumberAssign(WireModel):
    twilioPhoneNumber: PhoneNumberText
    voiceAgentId: AgentId


class NumberUnassign(WireModel):
    phoneNumber: PhoneNumberText


class _CallBase(WireModel):
    toNumber: PhoneNumberText
    voiceAgentId: AgentId | None = None
    params: dict[str, Any] | None = None
    agentDetails: dict[str, Any] | None = None
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None


class CallCreate(_CallBase):
    """``POST /v1/voice-agents/call``: ``fromNumber`` defaults to the agent's number."""

    fromNumber: PhoneNumberText | None = None

    def request(self) -> CallRequest:
        return CallRequest(to_number=self.toNumber, from_number=self.fromNumber,
                           voice_agent_id=self.voiceAgentId, agent_details=self.agentDetails,
                           from_field="fromNumber")


class TwilioCallCreate(_CallBase):
    """``POST /v1/voice-agents/twilio/call``."""

    twilioPhoneNumber: PhoneNumberText

    def request(self) -> CallRequest:
        return CallRequest(to_number=self.toNumber, from_number=self.twilioPhoneNumber,
                           voice_agent_id=self.voiceAgentId, agent_details=self.agentDetails,
                           twilio_only=True, from_field="twilioPhoneNumber")


class NumberCallCreate(_CallBase):
    """``POST /v1/voice-agents/phone-number/call``: from a Twilio or SIP number."""

    phoneNumber: PhoneNumberText

    def request(self) -> CallRequest:
        return CallRequest(to_number=self.toNumber, from_number=self.phoneNumber,
                           voice_agent_id=self.voiceAgentId, agent_details=self.agentDetails)


# --- answers ---------------------------------------------------------------------------------


class SipInboundPublic(ResponseModel):
    originationUri: str | None


class SipOutboundPublic(ResponseModel):
    """The outbound trunk as stored: no password, not even masked."""

    address: str
    transportType: str
    customHeaders: dict[str, str]
    username: str | None


class AgentRef(ResponseModel):
    id: str
    name: str


class PhoneNumberPublic(ResponseModel):
    """The PhoneNumber object. ``userId`` is null: numbers are the project's, not a key's."""

    id: str
    number: str
    label: str | None
    type: str
    userId: str | None
    sipInboundConfigs: SipInboundPublic | None
    sipOutboundConfigs: SipOutboundPublic | None
    voiceAgentId: str | None
    voiceAgent: AgentRef | None
    createdAt: str | None
    updatedAt: str | None

    @classmethod
    def of(cls, record: NumberRecord) -> PhoneNumberPublic:
        row, agent = record.number, record.agent
        sip = row.sip if row.type == SIP and row.sip else {}
        inbound, outbound = sip.get("inbound"), sip.get("outbound")
        return cls(
            id=row.id, number=row.number, label=row.label, type=row.type, userId=None,
            sipInboundConfigs=SipInboundPublic(**inbound) if inbound is not None else None,
            sipOutboundConfigs=SipOutboundPublic(**outbound) if outbound is not None else None,
            voiceAgentId=row.voice_agent_id,
            voiceAgent=AgentRef(id=agent.id, name=agent.name) if agent else None,
            createdAt=iso(row.created_at), updatedAt=iso(row.updated_at))


class TwilioNumberPublic(ResponseModel):
    """The Twilio-number object of the ``twilio/*`` routes."""

    id: str
    number: str
    label: str | None
    numberSid: str | None
    isActive: bool
    userId: str | None
    voiceAgentId: str | None

    @classmethod
    def of(cls, record: NumberRecord) -> TwilioNumberPublic:
        row = record.number
        return cls(id=row.id, number=row.number, label=row.label,
                   numberSid=row.twilio_number_sid, isActive=row.is_active, userId=None,
                   voiceAgentId=row.voice_agent_id)


class CallStarted(ResponseModel):
    """What a started call will answer (calls are not available yet: the routes answer 501)."""

    jobId: str
    voiceAgentId: str | None
