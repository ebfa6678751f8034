"""Nameserver strings, query names and construction of the resolver (no traffic)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailauth_tui.services.dns import DnsResolver, ascii_query_name, parse_nameserver


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", ("192.0.2.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        (" localhost:53 ", ("127.0.0.1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[2001:DB8::1]", ("2001:db8::1", 53)),
        ("2001:db8::53", ("2001:db8::53", 53)),
    ],
)
def test_parse_nameserver(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty nameserver"),
        ("dns.example.com", "not an IP address"),
        ("127.0.0.1:0", "not in 1-65535"),
        ("127.0.0.1:70000", "not in 1-65535"),
        ("127.0.0.1:", "not in 1-65535"),
        ("127.0.0.1:x", "not in 1-65535"),
        ("[::1", "missing ']'"),
        ("[::1]53", "expected ':PORT'"),
    ],
)
def test_parse_nameserver_rejects_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_nameserver(text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Example.COM.", "example.com"),
        ("_dmarc.example.com", "_dmarc.example.com"),
        ("s1._domainkey.bücher.example", "s1._domainkey.xn--bcher-kva.example"),
        ("例え。テスト", "xn--r8jz45g.xn--zckzah"),
        ("localhost", "localhost"),
        (".", "."),
    ],
)
def test_ascii_query_name(name: str, expected: str) -> None:
    assert ascii_query_name(name) == expected


@pytest.mark.parametrize("name", ["a..b", "x" * 64 + ".com", "a b.com", "a\x1b.com", "a" * 254])
def test_ascii_query_name_rejects(name: str) -> None:
    with pytest.raises(ValueError):
        ascii_query_name(name)


def test_constructor_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="timeout"):
        DnsResolver(["127.0.0.1"], timeout=0)
    with pytest.raises(ValueError, match="retries"):
        DnsResolver(["127.0.0.1"], retries=-1)
    with pytest.raises(ValueError, match="concurrency"):
        DnsResolver(["127.0.0.1"], concurrency=0)
    resolver = DnsResolver(["127.0.0.1:5353", "[::1]:53"])
    assert resolver.nameservers == ("127.0.0.1:5353", "[::1]:53")


def test_importing_the_service_reads_no_configuration() -> None:
    # resolv.conf is read when a resolver is made from the system's settings, never at import.
    code = (
        "import builtins, sys\n"
        "real = builtins.open\n"
        "def spy(f, *a, **k):\n"
        "    if 'resolv' in str(f): sys.exit('resolv.conf read at import')\n"
        "    return real(f, *a, **k)\n"
        "builtins.open = spy\n"
        "import mailauth_tui.services.dns, mailauth_tui.demo.zoneserver\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
