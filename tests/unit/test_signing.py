"""Webhook signatures and signed links verify, and refuse tampering or expiry."""

from __future__ import annotations

import hashlib
import hmac
import time

from hams.services.links import sign_path, verify_path
from hams.webhooks.signing import sign, verify


def test_signature_is_hmac_of_timestamp_and_body():
    header = sign("secret", 1700000000, b'{"a":1}')
    expected = hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("secret", header, b'{"a":1}')
    assert not verify("other", header, b'{"a":1}')
    assert not verify("secret", header, b'{"a":2}')
    assert not verify("secret", header.replace("t=1700000000", "t=1700000001"), b'{"a":1}')
    assert not verify("secret", "garbage", b"")


def test_signed_link_round_trip_and_expiry():
    link = sign_path("k", "/v1/jobs/abc/preview", 60)
    path, query = link.split("?")
    params = dict(item.split("=") for item in query.split("&"))
    assert verify_path("k", path, int(params["expires"]), params["signature"])
    assert not verify_path("k", "/v1/jobs/other/preview", int(params["expires"]),
                           params["signature"])
    assert not verify_path("k2", path, int(params["expires"]), params["signature"])
    assert not verify_path("k", path, int(params["expires"]) + 1, params["signature"])
    past = int(time.time()) - 1
    stale = sign_path("k", path, -2).split("signature=")[1]
    assert not verify_path("k", path, past - 1, stale)
    assert not verify_path("k", path, None, None)
