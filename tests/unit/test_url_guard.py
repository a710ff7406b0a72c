"""The URL guard refuses every way of pointing the server at a non-public address."""

from __future__ import annotations

import socket

import pytest

from hams.errors import MediaFetchFailed, UrlRefused
from hams.media.urls import ResolvedUrl, UrlPolicy, check_url

PUBLIC = "93.184.216.34"
NAMES = {
    "public.test": [PUBLIC],
    "rebind.test": [PUBLIC, "127.0.0.1"],
    "dual.test": ["2606:2800:220:1:248:1893:25c8:1946", PUBLIC],
}


def stub_resolver(host: str, port: int) -> list[str]:
    """Answer for a few test names only, so no test depends on real DNS."""
    if host not in NAMES:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return NAMES[host]


GUARDED = UrlPolicy(resolver=stub_resolver)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://public.test/a.mp3",
        "gopher://public.test:70/_x",
        "public.test/a.mp3",
        "http:///a.mp3",
        "http://user:secret@public.test/a.mp3",
        "http://user@public.test/a.mp3",
        "http://public.test:99999/",
        "http://pub lic.test/",
        "http://[::1",  # an unclosed IPv6 bracket: urlsplit's own ValueError
    ],
)
def test_refuses_bad_schemes_hosts_and_credentials(url: str) -> None:
    with pytest.raises(UrlRefused) as info:
        check_url(url, GUARDED)
    assert info.value.status_code == 400
    assert "mediaUrl" in info.value.message


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://172.16.0.5/", "172.16.0.5"),
        ("http://192.168.1.1/", "192.168.1.1"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://0.0.0.0:8000/", "0.0.0.0"),
        ("http://[::1]/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:"),
        ("http://[fc00::1]/", "fc00::1"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[::]/", "::"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1::"),
        ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1"),
        ("http://100.64.0.1/", "100.64.0.1"),
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://240.0.0.1/", "240.0.0.1"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("https://rebind.test/a.mp3", None),  # a name: its internal address is not shown
    ],
)
def test_refuses_non_public_addresses(url: str, address: str | None) -> None:
    with pytest.raises(UrlRefused) as info:
        check_url(url, GUARDED)
    assert info.value.status_code == 400
    assert info.value.message.startswith("mediaUrl resolves to ")
    if address is None:
        assert "127.0.0.1" not in info.value.message and "loopback" in info.value.message
    else:
        assert f"({address}" in info.value.message
    assert "HAMS_ALLOW_PRIVATE_URLS=true" in info.value.message


def test_refuses_localhost_through_the_system_resolver() -> None:
    with pytest.raises(UrlRefused, match="loopback"):
        check_url("http://localhost:8080/a.wav", UrlPolicy())


def test_refuses_malformed_numeric_hosts() -> None:
    for url in ("http://1.2.3.4.5/", "http://0x7g.1/", "http://089.0.0.1/", "http://256.0.0.1/"):
        with pytest.raises(UrlRefused, match="not a valid IPv4 address"):
            check_url(url, GUARDED)


def test_public_name_passes_with_every_address() -> None:
    resolved = check_url("https://PUBLIC.test/a.mp3?x=1", GUARDED)
    assert resolved == ResolvedUrl(
        url="https://PUBLIC.test/a.mp3?x=1",
        scheme="https",
        host="public.test",
        port=443,
        addresses=[PUBLIC],
    )
    assert check_url("http://dual.test/", GUARDED).addresses == NAMES["dual.test"]


def test_numeric_spelling_of_a_public_address_is_normalized() -> None:
    resolved = check_url("http://1572395042:8080/", GUARDED)
    assert (resolved.host, resolved.port, resolved.addresses) == (PUBLIC, 8080, [PUBLIC])


def test_public_ipv4_mapped_form_passes() -> None:
    assert check_url("http://[::ffff:93.184.216.34]/", GUARDED).port == 80


def test_unknown_name_is_a_fetch_failure_not_a_refusal() -> None:
    with pytest.raises(MediaFetchFailed, match="could not be resolved"):
        check_url("http://nowhere.test/", GUARDED)


def test_purpose_names_the_field_in_messages() -> None:
    with pytest.raises(UrlRefused, match=r"^webhookUrl resolves to a private address \(10\.0"):
        check_url("http://10.0.0.1/hook", GUARDED, purpose="webhookUrl")


def test_allow_private_lets_loopback_through() -> None:
    policy = UrlPolicy(allow_private=True, resolver=stub_resolver)
    assert check_url("http://127.0.0.1:8000/a", policy).addresses == ["127.0.0.1"]
    assert check_url("http://rebind.test/", policy).addresses == [PUBLIC, "127.0.0.1"]


def test_allowlist_exempts_only_the_listed_host_and_port() -> None:
    policy = UrlPolicy(allowlist=frozenset({"127.0.0.1:8123", "[::1]"}), resolver=stub_resolver)
    assert check_url("http://127.0.0.1:8123/a", policy).addresses == ["127.0.0.1"]
    assert check_url("http://[::1]:9000/a", policy).host == "::1"
    with pytest.raises(UrlRefused, match=r"127\.0\.0\.1"):
        check_url("http://127.0.0.1:8124/a", policy)


def test_allowlist_by_name_pins_what_the_name_resolved_to() -> None:
    policy = UrlPolicy(allowlist=frozenset({"Rebind.test"}), resolver=stub_resolver)
    assert check_url("http://rebind.test/", policy).addresses == [PUBLIC, "127.0.0.1"]
