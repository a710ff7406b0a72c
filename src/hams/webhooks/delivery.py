"""Create delivery rows with a job's outcome, and send them with exponential backoff."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from hams import metrics
from hams.db.models import Job, Project, WebhookAttempt, WebhookDelivery, utcnow
from hams.db.session import Database
from hams.errors import UrlRefused
from hams.logs import job_context
from hams.media.fetch import DeliveryError, post_guarded
from hams.media.urls import UrlPolicy
from hams.queue.deliveries import claim_next_delivery, record_delivery_outcome
from hams.settings import Settings
from hams.webhooks.signing import sign

log = logging.getLogger(__name__)
RETRYABLE_4XX = (408, 429)


class WebhookSender:
    """Sends due deliveries one at a time; any number of senders may run against one database."""

    def __init__(self, settings: Settings, db: Database, policy: UrlPolicy):
        self.settings = settings
        self.db = db
        self.policy = policy
        # longer than any one POST can take (each checked address may use the full timeout),
        # so no second sender takes a delivery over while it is still being sent
        self.lease_seconds = settings.webhook_timeout * 4 + 30

    def send_due(self) -> bool:
        """Send one due delivery; False when none was due."""
        with self.db.session() as session:
            claimed = claim_next_delivery(session, utcnow(), self.lease_seconds)
        if claimed is None:
            return False
        delivery_id, attempt = claimed
        with self.db.session() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            job = session.get(Job, delivery.job_id) if delivery else None
            project = session.get(Project, delivery.project_id) if delivery else None
            if delivery is None or project is None:
                return True
            auth = (job.webhook_auth if job else None) or {}
            url, payload, secret = delivery.url, delivery.payload, project.webhook_secret
            job_id = delivery.job_id
        with job_context(job_id):
            status, error, permanent, started, elapsed = self._post(url, payload, secret,
                                                                    delivery_id, auth)
            self._record(delivery_id, attempt, status, error, permanent, started, elapsed)
        return True

    def _post(self, url: str, payload: str, secret: str, delivery_id: str, auth: dict):
        body = payload.encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hams-Delivery": delivery_id,
            "X-Hams-Signature": sign(secret, int(time.time()), body),
        }
        if auth.get("authKey") or auth.get("authSecret"):
            headers["Authorization"] = f"{auth.get('authKey', '')} {auth.get('authSecret', '')}"
        started = utcnow()
        clock = time.monotonic()
        status, error, permanent = None, None, False
        try:
            response = post_guarded(url, policy=self.policy, content=body, headers=headers,
                                    timeout=self.settings.webhook_timeout)
            status = response.status_code
            if status >= 300:
                error = f"HTTP {status}"
                permanent = _permanent(status)
        except UrlRefused as exc:  # the URL now points somewhere we must not post to
            error, permanent = exc.message, True
        except (DeliveryError, Exception) as exc:  # noqa: BLE001 - every failure is recorded
            error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return status, error, permanent, started, int((time.monotonic() - clock) * 1000)

    def _record(self, delivery_id, attempt, status, error, permanent, started, elapsed) -> None:
        s = self.settings
        now = utcnow()
        values: dict = {"last_status_code": status, "last_error": error, "updated_at": now}
        given_up = error is not None and (permanent or attempt >= s.webhook_max_attempts)
        if error is None:
            values.update(state="delivered", delivered_at=now)
        elif given_up:
            values.update(state="failed")
        else:
            delay = s.webhook_backoff_seconds * 2 ** (attempt - 1)
            values.update(next_attempt_at=now + timedelta(seconds=delay))
        with self.db.session() as session:
            if record_delivery_outcome(session, delivery_id, attempt, **values):
                session.add(WebhookAttempt(delivery_id=delivery_id, number=attempt,
                                           started_at=started, duration_ms=elapsed,
                                           status_code=status, error=error))
        if error:
            metrics.webhook_failed(given_up=given_up)
            log.info("webhook %s attempt %d: %s", delivery_id, attempt, error)


def _permanent(status: int | None) -> bool:
    """A 4xx other than 408/429 means the receiver refuses this payload: stop retrying."""
    return status is not None and 400 <= status < 500 and status not in RETRYABLE_4XX
