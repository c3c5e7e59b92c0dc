"""An interactive terminal session over the guest channel (paramiko pty + raw local tty)."""

from __future__ import annotations

import os
import select
import shutil
import sys
import termios
import tty

from harness.guest import Channel


def interactive(ch: Channel) -> int:
    """Copy keystrokes to a guest shell and its output back until the shell exits."""
    cols, rows = shutil.get_terminal_size()
    chan = ch.client.get_transport().open_session()  # type: ignore[union-attr]
    chan.get_pty(term=os.environ.get("TERM", "vt100"), width=cols, height=rows)
    chan.invoke_shell()
    stdin = sys.stdin.fileno()
    old = termios.tcgetattr(stdin) if os.isatty(stdin) else None
    try:
        if old is not None:
            tty.setraw(stdin)
        while True:
            r, _, _ = select.select([chan, stdin], [], [])
            if chan in r:
                data = chan.recv(4096)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if stdin in r:
                data = os.read(stdin, 1024)
                if not data:
                    break
                chan.sendall(data)
    finally:
        if old is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, old)
    return chan.recv_exit_status() if chan.exit_status_ready() else 0
