"""Who may change the registry: the admins named in the settings, and its creator."""

from __future__ import annotations

from collections.abc import Iterable

from mailauth_tui.registry.errors import PermissionDenied

CREATOR_KEY = "created_by"  # meta key: the login that created the registry, its first admin


def admin_set(configured: Iterable[str], creator: str | None) -> frozenset[str]:
    names = {a for a in configured if a}
    if creator:
        names.add(creator)
    return frozenset(names)


def require_admin(actor: str, admins: frozenset[str], action: str) -> None:
    """Raise PermissionDenied saying who may ``action`` (e.g. "add domains")."""
    if actor in admins:
        return
    who = ", ".join(sorted(admins)) if admins else "nobody yet"
    raise PermissionDenied(
        f"only admins can {action}; admins are: {who} (you are {actor}, with read-only access)"
    )
