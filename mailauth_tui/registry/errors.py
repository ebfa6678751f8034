"""Refusals of the registry. Each carries a message fit to show the user as it is."""

from __future__ import annotations

# The store's failures reach the faces through here (the console may not import services): a
# registry that cannot be used (StoreError), or a damaged one (RegistryDamaged, whose text is
# the one line "registry damaged: PATH (...)" that the CLI prints too).
from mailauth_tui.services.store_api import RegistryDamaged, StoreError

__all__ = [
    "AlreadyExists",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RegistryDamaged",
    "RegistryError",
    "StoreError",
]


class RegistryError(Exception):
    """Base: a refused action or bad input; ``str(err)`` is the message for the user."""


class PermissionDenied(RegistryError):
    pass


class NotFound(RegistryError):
    pass


class InvalidInput(RegistryError):
    pass


class RateLimited(RegistryError):
    pass


class AlreadyExists(RegistryError):
    pass
