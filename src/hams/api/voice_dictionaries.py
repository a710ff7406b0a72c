"""Voice dictionaries (Voice Agents routes): pronunciation lists applied before synthesis."""

from __future__ import annotations

from fastapi import APIRouter

from hams.api.deps import JOBS, READ, PrincipalDep, SessionDep
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.dictionaries import DictionaryCreate, DictionaryPublic, DictionaryUpdate
from hams.services import dictionaries

router = APIRouter(tags=["Voice dictionaries"])
PATH = "/v1/voice-agents/voice-dictionaries"
DictionaryAnswer = Envelope[DictionaryPublic]


@router.post(PATH, dependencies=[JOBS], response_model=DictionaryAnswer,
             responses=error_responses(*AUTHENTICATED))
def create_dictionary(body: DictionaryCreate, session: SessionDep,
                      principal: PrincipalDep) -> DictionaryAnswer:
    """Create a pronunciation dictionary."""
    created = dictionaries.create_dictionary(session, principal, body.name,
                                             [w.model_dump() for w in body.words])
    return DictionaryAnswer(data=DictionaryPublic.of(created),
                            message="Voice dictionary created",
                            messageKey="VoiceDictionaryCreatedSuccessfully")


@router.patch(PATH + "/{dictionary_id}", dependencies=[JOBS], response_model=DictionaryAnswer,
              responses=error_responses(*AUTHENTICATED, 404))
def update_dictionary(dictionary_id: str, body: DictionaryUpdate, session: SessionDep,
                      principal: PrincipalDep) -> DictionaryAnswer:
    """Rename a dictionary or replace its words."""
    words = [w.model_dump() for w in body.words] if body.words is not None else None
    updated = dictionaries.update_dictionary(session, principal, dictionary_id,
                                             name=body.name, words=words)
    return DictionaryAnswer(data=DictionaryPublic.of(updated),
                            message="Voice dictionary updated",
                            messageKey="VoiceDictionaryUpdatedSuccessfully")


@router.get(PATH + "/{dictionary_id}", dependencies=[READ], response_model=DictionaryAnswer,
            responses=error_responses(*AUTHENTICATED, 404))
def get_dictionary(dictionary_id: str, session: SessionDep,
                   principal: PrincipalDep) -> DictionaryAnswer:
    """One dictionary."""
    found = dictionaries.get_dictionary(session, principal, dictionary_id)
    return DictionaryAnswer(data=DictionaryPublic.of(found))
