"""Voice dictionaries (Voice Agents routes): pronunciation lists applied before synthesis."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from hams.api.deps import PrincipalDep, SessionDep, get_principal
from hams.api.envelope import ok
from hams.api.schemas.tts import DictionaryCreate, DictionaryUpdate
from hams.services import dictionaries

router = APIRouter(tags=["Voice dictionaries"], dependencies=[Depends(get_principal)])
PATH = "/v1/voice-agents/voice-dictionaries"


@router.post(PATH)
def create_dictionary(body: DictionaryCreate, session: SessionDep,
                      principal: PrincipalDep) -> dict:
    """Create a pronunciation dictionary."""
    created = dictionaries.create_dictionary(session, principal, body.name,
                                             [w.model_dump() for w in body.words])
    return ok(dictionaries.dictionary_public(created), message="Voice dictionary created",
              message_key="VoiceDictionaryCreatedSuccessfully")


@router.patch(PATH + "/{dictionary_id}")
def update_dictionary(dictionary_id: str, body: DictionaryUpdate, session: SessionDep,
                      principal: PrincipalDep) -> dict:
    """Rename a dictionary or replace its words."""
    words = [w.model_dump() for w in body.words] if body.words is not None else None
    updated = dictionaries.update_dictionary(session, principal, dictionary_id,
                                             name=body.name, words=words)
    return ok(dictionaries.dictionary_public(updated), message="Voice dictionary updated",
              message_key="VoiceDictionaryUpdatedSuccessfully")


@router.get(PATH + "/{dictionary_id}")
def get_dictionary(dictionary_id: str, session: SessionDep, principal: PrincipalDep) -> dict:
    """One dictionary."""
    found = dictionaries.get_dictionary(session, principal, dictionary_id)
    return ok(dictionaries.dictionary_public(found))
