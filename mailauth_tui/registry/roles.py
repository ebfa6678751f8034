"""Who may change the registry.

Two things must both hold, and the refusal says which one does not:
- the actor (the OS login of the process, or on a database server its session role) is one of
  the admins kept in the registry itself, so a per-user settings file grants nothing;
- the storage lets the actor write: on SQLite the file's modes are the real guard, because
  whoever can write the file could change it with any client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailauth_tui.registry.errors import InvalidInput, PermissionDenied

# A login name as Unix tools accept it (useradd's default rule, plus the '$' of machine
# accounts and the '@' and '.' some directories use); also a valid database role name.
_LOGIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}\$?$")

SHARING_HINT = 'see "Sharing a registry" in the README'


def check_login(login: str) -> str:
    name = login.strip()
    if not _LOGIN.fullmatch(name):
        raise InvalidInput(
            f"{login!r} is not a login name: use the user's Unix login (letters, digits, "
            "'_', '.', '-'; at most 64 characters)"
        )
    return name


@dataclass(frozen=True, slots=True)
class Access:
    actor: str
    admins: frozenset[str]
    writable: bool  # the storage lets the actor write
    where: str  # the registry's path (or URL), for messages

    @property
    def is_admin(self) -> bool:
        return self.actor in self.admins

    @property
    def may_change(self) -> bool:
        return self.is_admin and self.writable

    def why_read_only(self) -> str:
        """Why this actor only reads, in a few words ("" when it may change the registry)."""
        if not self.is_admin:
            return f"{self.actor} is not an admin"
        if not self.writable:
            return "no write access to the registry"
        return ""

    def read_only_reason(self) -> str:
        """ "read-only: <why>", short enough for a header at 80 columns ("" for an admin)."""
        why = self.why_read_only()
        return f"read-only: {why}" if why else ""

    def how_to_get_rights(self) -> str:
        """One sentence: how this actor would get the rights it lacks."""
        if not self.is_admin:
            who = ", ".join(sorted(self.admins)) if self.admins else "nobody yet"
            return (
                f"admins are: {who}; one of them gives you rights with: "
                f"mailauth-tui admin add {self.actor}"
            )
        return f"ask whoever manages {self.where} for write access ({SHARING_HINT})"

    def require(self, action: str) -> None:
        """Raise PermissionDenied, in one line, unless the actor may ``action``."""
        if not self.is_admin:
            raise PermissionDenied(
                f"only admins can {action}; you are {self.actor}, with read-only access; "
                f"{self.how_to_get_rights()}"
            )
        if not self.writable:
            raise PermissionDenied(
                f"you ({self.actor}) are an admin but cannot write the registry {self.where}, "
                f"so you cannot {action}; {self.how_to_get_rights()}"
            )
