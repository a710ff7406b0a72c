"""The webhook sender: a URL that the guard now refuses is given up at once, not retried."""

from __future__ import annotations

from hams.db.models import Job, WebhookDelivery
from hams.media.urls import url_policy
from hams.runtime import build_runtime
from hams.services.jobs import enqueue_job_webhook
from hams.webhooks.delivery import WebhookSender
from tests.conftest import make_settings
from tests.factories import make_job, make_principal


def test_refused_webhook_url_fails_without_retries(tmp_path):
    runtime = build_runtime(make_settings(tmp_path, allow_private_urls=False))
    job = make_job(runtime, make_principal(runtime), webhook_url="http://10.0.0.1/hook",
                   state="completed", status="COMPLETED")
    with runtime.db.session() as session:
        enqueue_job_webhook(session, session.get(Job, job.id))
    sender = WebhookSender(runtime.settings, runtime.db, url_policy(runtime.settings))
    assert sender.send_due()
    assert not sender.send_due()  # nothing left to retry
    with runtime.db.session() as session:
        delivery = session.query(WebhookDelivery).filter_by(job_id=job.id).one()
    assert delivery.state == "failed" and delivery.attempts == 1
    assert "private" in delivery.last_error
