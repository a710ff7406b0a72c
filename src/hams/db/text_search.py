"""Substring search in SQL that means what the user typed: their ``%`` and ``_`` are literal
characters, not LIKE wildcards."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute


def contains(column: InstrumentedAttribute, text: str) -> ColumnElement[bool]:
    """``column`` holds ``text`` anywhere, case-insensitively (ILIKE on PostgreSQL, LIKE's
    ASCII case folding on SQLite)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
