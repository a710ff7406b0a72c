"""Resource namespaces (``client.agents``, ``client.web_tools``, ``client.knowledge_base``):
groups of operations that run on the client they belong to, blocking or awaited alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic.alias_generators import to_camel

from hams.client._ops import ClientBase, Op, T


class Resource(ClientBase):
    """Operations under one name on a client: each ``@operation`` method runs on the owning
    client, so on :class:`~hams.client.Hams` it returns its result and on
    :class:`~hams.client.AsyncHams` an awaitable of it."""

    def __init__(self, client: ClientBase):
        self._client = client
        self._config = client._config

    def _run(self, op: Op[T]) -> Any:
        return self._client._run(op)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


def camel_fields(fields: Mapping[str, Any], nested: Sequence[str] = ()) -> dict[str, Any]:
    """Keyword fields in snake_case or camelCase as wire names; the objects named in
    ``nested`` have their own keys renamed too (one level: free-form dicts inside them, such
    as ``params`` or ``overrides``, are sent as they are)."""
    body: dict[str, Any] = {}
    for key, value in fields.items():
        wire = to_camel(key)
        if wire in nested and isinstance(value, Mapping):
            value = {to_camel(k): v for k, v in value.items()}
        body[wire] = value
    return body


def merge(body: dict[str, Any], section: str, **values: Any) -> None:
    """Set ``values`` (those not None) inside ``body[section]``, keeping what it holds."""
    given = {k: v for k, v in values.items() if v is not None}
    if given:
        body[section] = {**(body.get(section) or {}), **given}


def many(values: str | Sequence[str] | None) -> list[str] | None:
    """One value or several, as a list (a repeated query parameter)."""
    if values is None:
        return None
    return [values] if isinstance(values, str) else list(values)
