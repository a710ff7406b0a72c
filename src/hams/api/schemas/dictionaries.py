"""Wire models of the voice dictionaries: per-project word → pronunciation lists for TTS."""

from __future__ import annotations

from pydantic import Field

from hams.api.schemas.common import ResponseModel, WireModel, iso
from hams.db.models import VoiceDictionary


class DictionaryWord(WireModel):
    word: str = Field(min_length=1, max_length=200)
    pronunciation: str = Field(min_length=1, max_length=500)


class DictionaryCreate(WireModel):
    name: str = Field(min_length=1, max_length=200)
    words: list[DictionaryWord] = Field(min_length=1, max_length=1000)


class DictionaryUpdate(WireModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    words: list[DictionaryWord] | None = Field(None, min_length=1, max_length=1000)


class DictionaryWordPublic(ResponseModel):
    word: str
    pronunciation: str


class DictionaryPublic(ResponseModel):
    id: str
    name: str
    words: list[DictionaryWordPublic]
    createdAt: str | None
    updatedAt: str | None

    @classmethod
    def of(cls, dictionary: VoiceDictionary) -> DictionaryPublic:
        return cls(id=dictionary.id, name=dictionary.name,
                   words=[DictionaryWordPublic(**entry) for entry in dictionary.words],
                   createdAt=iso(dictionary.created_at), updatedAt=iso(dictionary.updated_at))
