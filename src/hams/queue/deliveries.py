"""Queue statements for webhook deliveries: the same claim-with-lease shape as jobs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, and_, or_, select, update
from sqlalchemy.orm import Session

from hams.db.models import WebhookDelivery

deliveries = WebhookDelivery.__table__


def claim_delivery_statement(now: datetime, lease_seconds: float) -> Update:
    """Claim one due delivery (or one whose sender died mid-POST) and bump its attempt count."""
    candidate = (
        select(deliveries.c.id)
        .where(
            deliveries.c.state == "pending",
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
        )
        .order_by(deliveries.c.next_attempt_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(deliveries)
        .where(deliveries.c.id == candidate)
        .values(
            attempts=deliveries.c.attempts + 1,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(deliveries.c.id, deliveries.c.attempts)
    )


def claim_next_delivery(
    session: Session, now: datetime, lease_seconds: float
) -> tuple[str, int] | None:
    """The id and attempt number of the next delivery to send, or None."""
    row = session.execute(claim_delivery_statement(now, lease_seconds)).first()
    return (row[0], row[1]) if row else None


def record_delivery_outcome(
    session: Session, delivery_id: str, attempt: int, **values: Any
) -> bool:
    """Write the result of attempt ``attempt``; refused if another sender took it over since."""
    result = session.execute(
        update(deliveries)
        .where(and_(deliveries.c.id == delivery_id, deliveries.c.attempts == attempt))
        .values(lease_expires_at=None, **values)
    )
    return result.rowcount == 1
