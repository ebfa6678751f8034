"""The RFC 7489 organisational domain, from the Public Suffix List that ``publicsuffixlist``
ships (its bundled ``public_suffix_list.dat``).

The lookup is publicsuffixlist's own algorithm (``_countpublic``: wildcard, exact, exception
rules, an unlisted top-level domain being a suffix), over rules read here: the package's parser
encodes every rule to punycode as it loads (0.1 s, a tenth of a thousand-domain check), while
only the ~460 non-ASCII rules need it, and only once a name with an IDN label is asked. The
tests compare both on the PSL's own test data. The list is read on first use, once per
process, never at import: importing the record engine stays cheap and side-effect free.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import cache, lru_cache


class _Rules:
    __slots__ = ("_idn", "_unicode", "lookup")

    def __init__(self, lookup: frozenset[str]):
        # Every rule; the non-ASCII ones still as their UTF-8 bytes read as Latin-1, which no
        # ASCII name can equal: the table for ASCII names as it is.
        self.lookup = lookup
        self._unicode: tuple[str, ...] | None = None
        self._idn: frozenset[str] | None = None

    @property
    def ascii(self) -> frozenset[str]:
        """The ASCII rules."""
        return frozenset(rule for rule in self.lookup if rule.isascii())

    @property
    def unicode(self) -> tuple[str, ...]:
        """The non-ASCII rules, as written in the list (only names with an IDN label need them)."""
        if self._unicode is None:
            self._unicode = tuple(
                sorted(
                    {
                        rule.encode("latin-1").decode("utf-8", errors="surrogateescape").lower()
                        for rule in self.lookup
                        if not rule.isascii()
                    }
                )
            )
        return self._unicode

    def idn(self) -> frozenset[str]:
        """Every rule, the non-ASCII ones also in punycode (as the package's parser keeps)."""
        if self._idn is None:
            encoded = set(self.ascii).union(self.unicode)
            for rule in self.unicode:
                # IDNA 2003 via the codec, exactly as publicsuffixlist.encode_idn does.
                ace = rule.lstrip("!").encode("idna").decode("ascii")
                encoded.add("!" + ace if rule.startswith("!") else ace)
            self._idn = frozenset(encoded)
        return self._idn


def _list_path() -> str:
    """The list file inside the installed package, found without importing the package (whose
    import brings compression modules with it: over a quarter of the cost of reading the list)."""
    spec = importlib.util.find_spec("publicsuffixlist")
    locations = spec.submodule_search_locations if spec is not None else None
    if locations:
        path = os.path.join(next(iter(locations)), "public_suffix_list.dat")
        if os.path.exists(path):
            return path
    from publicsuffixlist import PSLFILE  # an unusual install: ask the package itself

    return str(PSLFILE)


# A rule is a line's text up to the first whitespace; "//" starts a comment line. Matched on the
# file's bytes read as Latin-1: one byte per character keeps the text compact for the regex, and
# the few non-ASCII rules are decoded from UTF-8 only when a name with an IDN label needs them.
# Twice as fast as decoding the file and splitting it into lines, on the ~10,000 rules a check
# loads once. Lines are found by their newline (the text read gets one in front), which the
# regex engine scans for, rather than by a multi-line "^" tried at every character: a third
# faster.
_RULE = re.compile(r"\n([^/\s]\S*)", re.ASCII)


@cache
def _rules() -> _Rules:
    with open(_list_path(), "rb") as fh:
        data = fh.read().lower().decode("latin-1")  # bytes.lower: ASCII letters only
    return _Rules(frozenset(_RULE.findall("\n" + data)))


def load() -> None:
    """Read the list now (once per process), rather than at the first lookup."""
    _rules()


def _public_labels(name: str, labels: list[str]) -> int:
    """How many trailing labels form the public suffix (publicsuffixlist ``_countpublic``
    with ``accept_unknown``): the checks run from the longest candidate, wildcard before
    exact before exception, so that a wildcard's exception can be backtracked."""
    count = len(labels)
    if count == 1:
        return 1
    # Tested on the whole name: an "xn--" inside a label only sends the name to the full
    # table, which answers ASCII names as the ASCII one does.
    idn = not name.isascii() or "xn--" in name
    rules = _rules().idn() if idn else _rules().lookup
    # The whole name here; its parent's candidates are the same for every name under it (all
    # of a run's domains under .com), so they are counted once (_below).
    if "!" + name in rules:
        return count - 1
    if "*." + name in rules:
        return count
    if name in rules:
        return count
    return _below(name.split(".", 1)[1], idn)


@lru_cache(maxsize=65536)
def _below(suffix: str, idn: bool) -> int:
    """:func:`_public_labels` for a name whose parent is ``suffix``, from the parent down: a
    wildcard rule there covers the label to its left too."""
    rules = _rules().idn() if idn else _rules().lookup
    labels = suffix.split(".")
    count = len(labels)
    # From the longest candidate down: those longer than any rule cost a join and a miss each,
    # which is cheaper than counting the labels of every rule when the list is read.
    for i in range(count):
        depth = count - i
        candidate = suffix if i == 0 else ".".join(labels[i:])
        if "!" + candidate in rules:
            return depth - 1
        if "*." + candidate in rules:
            return depth + 1
        if candidate in rules:
            return depth
    return 1


@lru_cache(maxsize=65536)
def public_suffix(domain: str) -> str:
    """The longest public suffix of ``domain`` (``co.uk`` for ``a.example.co.uk``).

    An unlisted top-level domain counts as a suffix (the list's ``*`` rule)."""
    name = domain.strip().rstrip(".").lower()
    labels = name.split(".")
    if "" in labels:
        return name
    return ".".join(labels[-_public_labels(name, labels) :])


@lru_cache(maxsize=65536)
def org_domain(domain: str) -> str:
    """RFC 7489 3.2: the public suffix plus one label; a public suffix is its own."""
    name = domain.strip().rstrip(".").lower()
    labels = name.split(".")
    if "" in labels:
        return name
    count = _public_labels(name, labels)
    return ".".join(labels[-(count + 1) :]) if len(labels) > count else name
