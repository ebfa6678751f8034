"""The RFC 7489 organisational domain, from the Public Suffix List (``publicsuffixlist``).

The list is loaded on first use, once per process (about 0.15 s), never at import: importing
the record engine stays cheap and side-effect free.
"""

from __future__ import annotations

from functools import cache, lru_cache

from publicsuffixlist import PublicSuffixList


@cache
def _psl() -> PublicSuffixList:
    # The bundled copy of the list: reading it is local, no network.
    return PublicSuffixList()


def _clean(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


@lru_cache(maxsize=65536)
def public_suffix(domain: str) -> str:
    """The longest public suffix of ``domain`` (``co.uk`` for ``a.example.co.uk``).

    An unlisted top-level domain counts as a suffix (the list's ``*`` rule)."""
    name = _clean(domain)
    suffix = _psl().publicsuffix(name)
    return suffix if suffix is not None else name


@lru_cache(maxsize=65536)
def org_domain(domain: str) -> str:
    """RFC 7489 3.2: the public suffix plus one label; a public suffix is its own."""
    name = _clean(domain)
    private = _psl().privatesuffix(name)
    return private if private is not None else name
