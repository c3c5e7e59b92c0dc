"""The lab's SSH keys: one client key per user, one host key per guest image.

No passwords exist anywhere: root in the guest accepts only the user's ed25519 key, and
the host accepts only the host key generated when the image was built (paramiko
RejectPolicy against a known_hosts file the lab writes).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import atomic
from harness.errors import ConfigError


def generate(private: Path, comment: str) -> str:
    """Write a new ed25519 key pair (private file mode 0600); returns the public line."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{pub.decode()} {comment}\n"
    with atomic.staged(private) as tmp:
        # created 0600 before a byte is written: the key is never readable by others
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        Path(str(private) + ".pub").write_text(line)
    return line


def check_private(private: Path) -> None:
    """Refuse a key file others can read, as ssh does."""
    mode = stat.S_IMODE(private.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"SSH key {private} has loose permissions {mode:04o}; run: chmod 600 {private}")


def client_key(state: Path) -> Path:
    """The user's client key, generated on first use."""
    private = state / "ssh" / "id_ed25519"
    if not private.exists():
        generate(private, "pipemap-lab")
    check_private(private)
    return private


def public_line(private: Path) -> str:
    return Path(str(private) + ".pub").read_text().strip()
