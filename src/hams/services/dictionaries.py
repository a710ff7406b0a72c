"""Pronunciation dictionaries: per-project word → pronunciation lists used by TTS."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hams.db.models import VoiceDictionary
from hams.errors import NotFound
from hams.services.keys import Principal


def create_dictionary(session: Session, principal: Principal, name: str,
                      words: list[dict[str, str]]) -> VoiceDictionary:
    dictionary = VoiceDictionary(project_id=principal.project_id, name=name, words=words)
    session.add(dictionary)
    session.flush()
    return dictionary


def get_dictionary(session: Session, principal: Principal, dictionary_id: str
                   ) -> VoiceDictionary:
    dictionary = session.get(VoiceDictionary, dictionary_id)
    if dictionary is None or dictionary.project_id != principal.project_id:
        raise NotFound("Voice dictionary not found")
    return dictionary


def update_dictionary(session: Session, principal: Principal, dictionary_id: str, *,
                      name: str | None, words: list[dict[str, str]] | None) -> VoiceDictionary:
    dictionary = get_dictionary(session, principal, dictionary_id)
    if name is not None:
        dictionary.name = name
    if words is not None:
        dictionary.words = words
    session.flush()
    return dictionary
