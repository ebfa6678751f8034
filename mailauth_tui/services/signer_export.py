"""Configuration for the DKIM signers self-hosters run: OpenDKIM tables and rspamd's
dkim_signing, written from the registry's verified domains and their active keys.

Every file is written atomically (a temporary file in the same directory, fsynced, then
renamed over the old one), so a signer reloading at any moment reads the old file or the new
one, never half of one. Key files are written before the tables that name them, and a key no
longer named is deleted only after the new tables are in place.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mailauth_tui.services.keys import fsync_dir

HEADER = "# written by mailauth-tui export: do not edit, export again instead\n"
_KEY_FILE = re.compile(r"^[a-z0-9_.-]+\.[a-z0-9-]+\.private$")


@dataclass(frozen=True, slots=True)
class ExportKey:
    domain: str  # ASCII
    selector: str
    key_type: str  # rsa | ed25519
    pem: bytes  # unencrypted PKCS#8 PEM

    @property
    def file_name(self) -> str:
        return f"{self.domain}.{self.selector}.private"

    @property
    def key_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename; the mode is set before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)  # the rename itself must survive a crash


def _write_keys(keys_dir: Path, keys: Sequence[ExportKey]) -> None:
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    for key in keys:
        write_atomic(keys_dir / key.file_name, key.pem, 0o600)


def _prune_keys(keys_dir: Path, keys: Sequence[ExportKey]) -> list[str]:
    """Delete the key files an earlier export wrote that no table names any more."""
    keep = {k.file_name for k in keys}
    removed = []
    for path in sorted(keys_dir.iterdir()):
        if _KEY_FILE.fullmatch(path.name) and path.name not in keep:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def export_opendkim(directory: Path, keys: Sequence[ExportKey]) -> list[Path]:
    """``KeyTable``, ``SigningTable`` and ``keys/`` (0600 files) in ``directory``: use them
    with ``KeyTable file:DIR/KeyTable`` and ``SigningTable refile:DIR/SigningTable``."""
    keys_dir = directory / "keys"
    _write_keys(keys_dir, keys)
    key_table = "".join(
        f"{k.key_name} {k.domain}:{k.selector}:{keys_dir / k.file_name}\n" for k in keys
    )
    # refile patterns: the domain itself and its addresses (a subdomain is its own domain).
    signing_table = "".join(f"*@{k.domain} {k.key_name}\n" for k in keys)
    written = [directory / "KeyTable", directory / "SigningTable"]
    write_atomic(written[0], (HEADER + key_table).encode("ascii"))
    write_atomic(written[1], (HEADER + signing_table).encode("ascii"))
    _prune_keys(keys_dir, keys)
    return written


def _ucl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def export_rspamd(config: Path, keys: Sequence[ExportKey]) -> list[Path]:
    """rspamd's ``dkim_signing`` settings (for ``local.d/dkim_signing.conf``): one ``domain``
    entry per verified domain with its selector and key path; the keys go to
    ``<config>.keys/`` beside it."""
    keys_dir = config.parent / f"{config.name}.keys"
    _write_keys(keys_dir, keys)
    lines = [
        HEADER,
        "# sign only for the domains below, with the key of the From domain\n",
        'use_domain = "header";\n',
        "allow_hdrfrom_mismatch = false;\n",
        "allow_username_mismatch = true;\n",
        "try_fallback = false;\n",
        "domain {\n",
    ]
    for k in keys:
        lines.append(f"  {_ucl_string(k.domain)} {{\n")
        lines.append(f"    selector = {_ucl_string(k.selector)};\n")
        lines.append(f"    path = {_ucl_string(str(keys_dir / k.file_name))};\n")
        lines.append("  }\n")
    lines.append("}\n")
    write_atomic(config, "".join(lines).encode("ascii"))
    _prune_keys(keys_dir, keys)
    return [config]
