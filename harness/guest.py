"""Stage 6, guest: the SSH channel into a running 2.0.36 guest (paramiko).

``run`` returns the exit status, stdout and stderr separately, under a timeout; ``put``
and ``get`` go over SFTP and are each checked by size and sha256 (the guest's busybox
computes its side). The host key is pinned: the client knows only the key generated when
the root image was built, and RejectPolicy refuses anything else.
"""

from __future__ import annotations

import select
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from harness import atomic, timeouts
from harness.errors import GuestError
from harness.hashing import sha256_file
from harness.keys import check_private

__all__ = ["Channel", "GuestError", "GuestTimeout", "HostKeyMismatch", "RunResult"]


class HostKeyMismatch(GuestError):
    """The guest presented a host key other than the pinned one."""


class GuestTimeout(GuestError):
    """A guest command did not finish in time."""


@dataclass(frozen=True)
class RunResult:
    command: str
    status: int
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


def write_known_hosts(path: Path, port: int, host_key_line: str) -> None:
    """known_hosts with the image's pinned key for this boot's forwarded port."""
    keytype, blob = host_key_line.split()[:2]
    path.write_text(f"[127.0.0.1]:{port} {keytype} {blob}\n")


class Channel:
    def __init__(self, port: int, client_key: Path, known_hosts: Path, connect_timeout: float = 15) -> None:
        self.port = port
        self.client_key = client_key
        self.known_hosts = known_hosts
        self.connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # A guest's dropbear that has just greeted the readiness probe sometimes drops the next
    # connection before its banner when the host is loaded (seen with two icount machines side
    # by side: "Error reading SSH protocol banner"); a fresh connection then succeeds.
    CONNECT_ATTEMPTS = 3

    def connect(self) -> Channel:
        if self._client is not None:
            return self
        check_private(self.client_key)
        for attempt in range(1, self.CONNECT_ATTEMPTS + 1):
            try:
                self._client = self._connect_once()
                return self
            except HostKeyMismatch:
                raise  # never retried: a wrong key stays wrong
            except GuestError:
                if attempt == self.CONNECT_ATTEMPTS:
                    raise
                time.sleep(1.0 * attempt)
        raise AssertionError("unreachable")

    def _connect_once(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                "127.0.0.1", self.port, username="root",
                pkey=paramiko.Ed25519Key.from_private_key_file(str(self.client_key)),
                allow_agent=False, look_for_keys=False, timeout=self.connect_timeout,
                banner_timeout=self.connect_timeout, auth_timeout=self.connect_timeout,
            )
        except paramiko.BadHostKeyException as e:
            client.close()
            raise HostKeyMismatch(
                f"guest host key does not match the pinned key in {self.known_hosts} "
                f"(got {e.key.get_name()} {e.key.get_base64()[:24]}...): refusing to connect"
            ) from None
        except paramiko.SSHException as e:
            client.close()
            if "not found in known_hosts" in str(e):
                raise HostKeyMismatch(f"guest host key is not the pinned one ({self.known_hosts}): {e}") from None
            raise GuestError(f"SSH to 127.0.0.1:{self.port} failed: {e}") from None
        except OSError as e:
            client.close()
            raise GuestError(f"SSH to 127.0.0.1:{self.port} failed: {e}") from None
        return client

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Channel:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> paramiko.SSHClient:
        return self.connect()._client  # type: ignore[return-value]

    def run(self, command: str, timeout: float = 60, stdin: bytes | None = None) -> RunResult:
        """Run ``command`` through the guest's shell; never raises on a non-zero status.

        ``timeout`` is nominal seconds, scaled here (``timeouts.scaled``): callers never scale it.
        """
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise GuestError("SSH connection to the guest is closed")
        t0 = time.monotonic()
        chan = transport.open_session(timeout=self.connect_timeout)
        try:
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin)
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            limit = timeouts.scaled(timeout)
            deadline = t0 + limit
            while True:
                # event driven: paramiko channels are selectable, so no polling delay per command
                while chan.recv_ready():
                    out += chan.recv(65536)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if chan.exit_status_ready() and chan.eof_received:
                    while chan.recv_ready():
                        out += chan.recv(65536)
                    while chan.recv_stderr_ready():
                        err += chan.recv_stderr(65536)
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GuestTimeout(f"guest command timed out after {limit:.0f} s: {command}")
                select.select([chan], [], [], min(left, 1.0))
            status = chan.recv_exit_status()
        finally:
            chan.close()
        return RunResult(command, status, bytes(out), bytes(err), time.monotonic() - t0)

    def check(self, command: str, timeout: float = 60) -> RunResult:
        r = self.run(command, timeout)
        if r.status != 0:
            raise GuestError(f"guest command exited {r.status}: {command}",
                             (r.stderr or r.stdout).decode("utf-8", "replace")[-2000:])
        return r

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = self.client.open_sftp()
            except paramiko.SSHException as e:
                raise GuestError(f"SFTP to the guest failed: {e}") from None
        return self._sftp

    def guest_sha256(self, remote: str) -> str:
        r = self.check(f"sha256sum {shlex.quote(remote)}", timeout=300)
        return r.text.split()[0]

    def put(self, local: Path, remote: str) -> str:
        """Upload ``local``; returns its sha256 after the guest's copy matched in size and hash."""
        digest = sha256_file(local)
        size = local.stat().st_size
        try:
            self.sftp.put(str(local), remote, confirm=True)
        except (OSError, paramiko.SSHException) as e:
            raise GuestError(f"upload {local} -> guest:{remote} failed: {e}") from None
        got = self.sftp.stat(remote).st_size
        if got != size:
            raise GuestError(f"upload {local}: guest has {got} bytes, expected {size}")
        if self.guest_sha256(remote) != digest:
            raise GuestError(f"upload {local}: sha256 differs in the guest")
        return digest

    def get(self, remote: str, local: Path) -> str:
        """Download to ``local`` (temp name, renamed once size and hash match the guest's)."""
        try:
            with atomic.staged(local) as tmp:
                size = self.sftp.stat(remote).st_size
                self.sftp.get(remote, str(tmp))
                if tmp.stat().st_size != size:
                    raise GuestError(f"download guest:{remote}: got {tmp.stat().st_size} bytes, expected {size}")
                digest = sha256_file(tmp)
                if self.guest_sha256(remote) != digest:
                    raise GuestError(f"download guest:{remote}: sha256 differs from the guest's")
            return digest
        except (OSError, paramiko.SSHException) as e:
            raise GuestError(f"download guest:{remote} -> {local} failed: {e}") from None

