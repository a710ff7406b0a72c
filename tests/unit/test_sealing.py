"""Secrets at rest: sealed values open only under the same server secret, and the API shows
no more of a secret than its kind and last four characters."""

from __future__ import annotations

import pytest

from hams.sealing import SealedSecretUnreadable, SecretBox, is_masked, mask


def test_sealed_values_open_with_the_same_secret_only():
    box = SecretBox("server-secret")
    sealed = box.seal("sk-live-1234567890")
    assert "1234567890" not in sealed and sealed != box.seal("sk-live-1234567890")  # nonces
    assert SecretBox("server-secret").open(sealed) == "sk-live-1234567890"
    for other in (SecretBox("another-secret"),):
        with pytest.raises(SealedSecretUnreadable) as refused:
            other.open(sealed)
        assert refused.value.status_code == 503
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SealedSecretUnreadable):
        box.open(tampered)
    with pytest.raises(SealedSecretUnreadable):
        box.open("plain text")


def test_fields_are_sealed_together_and_empty_ones_dropped():
    box = SecretBox("s")
    sealed = box.seal_fields({"llmApiKey": "k-000011112222", "webhookAuthSecret": "",
                              "other": None})
    assert box.open_fields(sealed) == {"llmApiKey": "k-000011112222"}
    assert box.seal_fields({"a": "", "b": None}) is None and box.open_fields(None) == {}


@pytest.mark.parametrize(("secret", "shown"), [
    ("sk-proj-abcdefghijklmnop1234", "sk-…1234"),
    ("ghp-0123456789abcdefXYZ9", "ghp-…XYZ9"),
    ("1b9907c6-37b5-4c11-9d0e-595371d47fe4", "…7fe4"),  # hex before a dash is the secret
    ("deadbeef-0000-1111-2222-333344445555", "…5555"),
    ("plainsecretwithoutdash99", "…sh99"),
    ("short", "…"),
    (None, None),
    ("", None),
])
def test_mask_shows_only_a_kind_prefix_and_the_last_four(secret, shown):
    assert mask(secret) == shown
    if shown:
        assert is_masked(shown)
