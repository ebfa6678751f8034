"""Refusals of the registry. Each carries a message fit to show the user as it is."""

from __future__ import annotations


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
