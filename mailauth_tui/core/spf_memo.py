"""Include trees walked once per run: what evaluating an include target's record did to a
walk, kept to be replayed when the next domain includes the same target.

A run of ``check`` over many domains walks the same provider trees (``_spf.google.com``, a
mailing service's nested includes) for every domain that includes them: about a quarter of
the SPF check's cost. The walk of the tree below a target depends only on the DNS answers
inside it, which the run's resolver holds unchanged for the run, and on where the target was
included from in two ways, both checked before a replay:

* a loop: a name followed inside that is also on the path that led to the target (and a tree
  with a loop of its own is not kept: the loop's message spells the whole path);
* the walk's safety cap (``WALK_LOOKUP_CAP``) reached inside the tree.

Only walks (no client address) use it, and only below an include: a redirect target's record
speaks for the domain (its ``all`` is the domain's own), and a check with an address stops at
the first match. Chains in the stored findings and visits are kept from the target on, and
prefixed with the path of each walk that replays them.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailauth_tui.core.spf import SpfRecord
from mailauth_tui.core.spf_types import Finding, Match, SpfOutcome, Visit

__all__ = ["SpfMemo", "Subtree"]


@dataclass(frozen=True, slots=True)
class Subtree:
    """The effects of one include target's evaluation, chains relative to the target."""

    record: SpfRecord  # the parsed record evaluated: another object means other answers
    result: SpfOutcome
    lookups: int
    void_lookups: int
    names: frozenset[str]  # the target and every name followed below it
    findings: tuple[Finding, ...]
    visits: tuple[Visit, ...]
    targets: tuple[str, ...]
    voids: tuple[tuple[str, str, str], ...]
    unchecked: tuple[tuple[str, str], ...]
    matched: Match | None  # the walk's last match, when the tree set one
    sets_match: bool


class SpfMemo:
    """Include trees by target name, for one run over one resolver whose answers do not change
    during the run (``mailauth-tui check`` makes one with its resolver)."""

    __slots__ = ("_trees",)

    def __init__(self) -> None:
        self._trees: dict[str, Subtree] = {}

    def get(self, target: str, record: SpfRecord) -> Subtree | None:
        tree = self._trees.get(target)
        return tree if tree is not None and tree.record is record else None

    def put(self, target: str, tree: Subtree) -> None:
        self._trees[target] = tree

    def __len__(self) -> int:
        return len(self._trees)


def relative(chain: tuple[str, ...], base: int) -> tuple[str, ...]:
    """``chain`` without the ``base`` names of the path above the target (an empty chain, as
    on a DNS failure's finding, stays empty)."""
    return chain[base:] if chain else chain


def rebased(chain: tuple[str, ...], base: tuple[str, ...]) -> tuple[str, ...]:
    return (*base, *chain) if chain else chain
