"""Phone numbers (Twilio, SIP) as records, assigned to agents; the call routes, which answer
501 after checking what a call names, until hams can place calls."""

from __future__ import annotations

from fastapi import APIRouter, Query

from hams.api.deps import JOBS, READ, PrincipalDep, RuntimeDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.paging import MAX_PAGE
from hams.api.schemas.phone_numbers import (
    CallCreate,
    CallStarted,
    NumberAssign,
    NumberCallCreate,
    NumberType,
    NumberUnassign,
    PhoneNumberCreate,
    PhoneNumberPublic,
    TwilioCallCreate,
    TwilioNumberAssign,
    TwilioNumberCreate,
    TwilioNumberPublic,
)
from hams.services import phone_numbers
from hams.services.phone_numbers import TWILIO, UNASSIGNED

router = APIRouter(tags=["Phone numbers"])
BASE = "/v1/voice-agents"
PATH = BASE + "/phone-number"
NumberAnswer = Envelope[PhoneNumberPublic]
NumbersAnswer = Envelope[list[PhoneNumberPublic]]
TwilioAnswer = Envelope[TwilioNumberPublic]
CallAnswer = Envelope[CallStarted]
TextAnswer = Envelope[str]
SUCCESS = "Success"
WRITES = error_responses(*AUTHENTICATED, 404)
ASSIGNS = error_responses(*AUTHENTICATED, 404, 409)  # 409: the same agent assigned at once
CALLS = error_responses(*AUTHENTICATED, 404, 501)


@router.post(PATH, dependencies=[JOBS], response_model=NumberAnswer,
             responses=error_responses(*AUTHENTICATED, 409))
def add_phone_number(body: PhoneNumberCreate, session: SessionDep, principal: PrincipalDep,
                     runtime: RuntimeDep) -> NumberAnswer:
    """Add a Twilio or SIP number to the project."""
    record = phone_numbers.add_number(session, principal, body.request(),
                                      secrets=runtime.secrets)
    return NumberAnswer(data=PhoneNumberPublic.of(record), message=SUCCESS)


@router.post(BASE + "/twilio/phone-number", dependencies=[JOBS], response_model=TwilioAnswer,
             responses=error_responses(*AUTHENTICATED, 409))
def add_twilio_number(body: TwilioNumberCreate, session: SessionDep, principal: PrincipalDep,
                      runtime: RuntimeDep) -> TwilioAnswer:
    """Add a Twilio number to the project."""
    record = phone_numbers.add_number(session, principal, body.request(),
                                      secrets=runtime.secrets)
    return TwilioAnswer(data=TwilioNumberPublic.of(record), message=SUCCESS)


@router.get(PATH + "/list", dependencies=[READ], response_model=NumbersAnswer,
            responses=error_responses(*AUTHENTICATED))
def list_phone_numbers(session: SessionDep, principal: PrincipalDep,
                       voiceAgentId: str | None = Query(None, max_length=100),
                       provider: NumberType | None = Query(None),
                       skip: int = Query(1, ge=0, le=MAX_PAGE,
                                         description="1-based page number (0 reads as 1)"),
                       take: int = Query(10, ge=1, le=1000, description="page size"),
                       ) -> NumbersAnswer:
    """List the project's numbers, newest first; ``skip`` is a page number."""
    records = phone_numbers.list_numbers(session, principal, voice_agent_id=voiceAgentId,
                                         provider=provider, page=skip, per_page=take)
    return NumbersAnswer(data=[PhoneNumberPublic.of(r) for r in records], message=SUCCESS)


@router.get(PATH, dependencies=[READ], response_model=NumberAnswer,
            responses=error_responses(*AUTHENTICATED, 404))
def get_phone_number(session: SessionDep, principal: PrincipalDep,
                     pid: str = Query(min_length=1, max_length=100)) -> NumberAnswer:
    """One number, by id."""
    record = phone_numbers.get_number(session, principal, pid)
    return NumberAnswer(data=PhoneNumberPublic.of(record), message=SUCCESS)


@router.delete(PATH + "/{number_id}", dependencies=[JOBS], response_model=NumberAnswer,
               responses=WRITES)
def delete_phone_number(number_id: str, session: SessionDep,
                        principal: PrincipalDep) -> NumberAnswer:
    """Remove a number (hams' extension); the answer is the number as it was."""
    record = phone_numbers.delete_number(session, principal, number_id)
    return NumberAnswer(data=PhoneNumberPublic.of(record), message="Phone number deleted")


@router.delete(PATH, dependencies=[JOBS], response_model=NumberAnswer, responses=WRITES)
def delete_phone_number_by_pid(session: SessionDep, principal: PrincipalDep,
                               pid: str = Query(min_length=1, max_length=100)) -> NumberAnswer:
    """Remove a number named by ``pid`` (hams' extension), as ``GET ?pid=`` reads one."""
    record = phone_numbers.delete_number(session, principal, pid)
    return NumberAnswer(data=PhoneNumberPublic.of(record), message="Phone number deleted")


@router.post(BASE + "/assign-number", dependencies=[JOBS], response_model=NumberAnswer,
             responses=ASSIGNS)
def assign_number(body: NumberAssign, session: SessionDep,
                  principal: PrincipalDep) -> NumberAnswer:
    """Assign a number to an agent (one number ↔ one agent: earlier pairings are undone)."""
    record = phone_numbers.assign_number(session, principal, body.phoneNumber,
                                         body.voiceAgentId)
    return NumberAnswer(data=PhoneNumberPublic.of(record), message=SUCCESS)


@router.post(BASE + "/twilio/assign-number", dependencies=[JOBS], response_model=TwilioAnswer,
             responses=ASSIGNS)
def assign_twilio_number(body: TwilioNumberAssign, session: SessionDep,
                         principal: PrincipalDep) -> TwilioAnswer:
    """Assign a Twilio number to an agent (one number ↔ one agent)."""
    record = phone_numbers.assign_number(session, principal, body.twilioPhoneNumber,
                                         body.voiceAgentId, provider=TWILIO)
    return TwilioAnswer(data=TwilioNumberPublic.of(record), message=SUCCESS)


@router.post(BASE + "/unassign", dependencies=[JOBS], response_model=TextAnswer,
             responses=WRITES)
def unassign_number(body: NumberUnassign, session: SessionDep,
                    principal: PrincipalDep) -> TextAnswer:
    """Take a number's agent away."""
    phone_numbers.unassign_number(session, principal, body.phoneNumber)
    return TextAnswer(data=UNASSIGNED, message=SUCCESS)


@router.post(BASE + "/call", dependencies=[JOBS], response_model=CallAnswer, responses=CALLS)
def start_call(body: CallCreate, session: SessionDep, principal: PrincipalDep) -> CallAnswer:
    """Start a phone call (not available yet: 501 once the agent and number are checked)."""
    phone_numbers.place_call(session, principal, body.request())


@router.post(BASE + "/twilio/call", dependencies=[JOBS], response_model=CallAnswer,
             responses=CALLS)
def start_twilio_call(body: TwilioCallCreate, session: SessionDep,
                      principal: PrincipalDep) -> CallAnswer:
    """Call from a Twilio number (not available yet: 501 once the agent and number are
    checked)."""
    phone_numbers.place_call(session, principal, body.request())


@router.post(PATH + "/call", dependencies=[JOBS], response_model=CallAnswer, responses=CALLS)
def start_number_call(body: NumberCallCreate, session: SessionDep,
                      principal: PrincipalDep) -> CallAnswer:
    """Call from a Twilio or SIP number (not available yet: 501 once the agent and number are
    checked)."""
    phone_numbers.place_call(session, principal, body.request())
