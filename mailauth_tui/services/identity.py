"""Who runs this process, as the operating system knows it.

The registry's admin rights and its journal hang on this name, so it comes from the kernel
(the effective uid), never from ``LOGNAME`` / ``USER`` (``getpass.getuser()`` reads those
first: ``LOGNAME=root mailauth-tui add ...`` would make anyone root) nor from any file the
user controls.
"""

from __future__ import annotations

import os
import pwd


def os_login() -> str:
    """The login name of the process's effective uid, or ``uid<N>`` when the uid has no
    entry in the password database (a container): the number still tells people apart."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


def login_exists(login: str) -> bool:
    """Whether ``login`` names a user on this host (an admin may be named before the account
    exists here, or for another host sharing the registry)."""
    try:
        pwd.getpwnam(login)
    except KeyError:
        return False
    return True
