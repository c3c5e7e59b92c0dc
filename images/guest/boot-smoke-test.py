#!/usr/bin/env python3
"""boot-smoke-test.py - boot root.img on a Linux 2.0.36 bzImage under QEMU (TCG) and check it over SSH.

Why: the one end-to-end proof that the guest userland works on the real kernel: busybox init and
/etc/rc run, the network comes up, dropbear accepts our ed25519 key, exec_command returns exit
codes, and sftp (OpenSSH's sftp-server) moves a file both ways intact.

Usage: boot-smoke-test.py --kernel bzImage --image root.img --key id_ed25519
                          --host-key dropbear_ed25519_host_key.pub [--port 10022] [--workdir DIR]
Needs: qemu-system-i386 (Debian qemu-system-x86), python3 with paramiko.
Prints one line per check and a closing "N passed, N failed".  The image is opened with
snapshot=on, so it is never modified.
"""
import argparse
import base64
import hashlib
import os
import socket
import subprocess
import sys
import time

import paramiko


def qemu_argv(kernel, image, port, console):
    return [
        "qemu-system-i386", "-M", "pc-i440fx-7.2", "-cpu", "pentium", "-m", "32",
        "-kernel", kernel, "-append", "root=/dev/hda console=ttyS0",
        "-drive", f"file={image},format=raw,if=ide,index=0,snapshot=on",
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", "ne2k_isa,netdev=n0,iobase=0x300,irq=9",
        "-display", "none", "-serial", f"file:{console}", "-no-reboot",
    ]


def wait_for_ssh(port, key, host_key, deadline):
    """Poll until an authenticated SSH session exists; return (client, seconds)."""
    start = time.monotonic()
    last = None
    banner_at = None
    while time.monotonic() < deadline:
        try:
            if banner_at is None:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.settimeout(5)
                    banner = s.recv(64)
                if not banner.startswith(b"SSH-"):
                    raise OSError(f"no SSH banner yet ({banner!r})")
                banner_at = time.monotonic() - start
                first = banner.split(b"\r\n")[0].decode(errors="replace")
                print(f"# SSH banner after {banner_at:.1f} s: {first}", flush=True)
            client = paramiko.SSHClient()
            client.get_host_keys().add(f"[127.0.0.1]:{port}", host_key.get_name(), host_key)
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            client.connect("127.0.0.1", port=port, username="root", pkey=key,
                           allow_agent=False, look_for_keys=False, timeout=30,
                           banner_timeout=30, auth_timeout=30)
            return client, time.monotonic() - start
        except (OSError, paramiko.SSHException, EOFError) as e:
            last = e
            time.sleep(0.5)
    raise TimeoutError(f"no SSH session before the deadline (last error: {last})")


def run(client, cmd, timeout=60):
    _, out, err = client.exec_command(cmd, timeout=timeout)
    o = out.read().decode(errors="replace")
    e = err.read().decode(errors="replace")
    return out.channel.recv_exit_status(), o, e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--key", required=True, help="ed25519 private key (OpenSSH format)")
    ap.add_argument("--host-key", required=True, help="the image's dropbear_ed25519_host_key.pub")
    ap.add_argument("--port", type=int, default=10022)
    ap.add_argument("--workdir", default=".")
    ap.add_argument("--boot-timeout", type=float, default=180)
    ap.add_argument("--round-trips", type=int, default=50)
    a = ap.parse_args()

    key = paramiko.Ed25519Key.from_private_key_file(a.key)
    kt, kb = open(a.host_key).read().split()[:2]
    host_key = paramiko.Ed25519Key(data=base64.b64decode(kb))
    os.makedirs(a.workdir, exist_ok=True)
    console = os.path.join(a.workdir, "console.log")
    argv = qemu_argv(a.kernel, a.image, a.port, console)
    print("qemu:", " ".join(argv), flush=True)
    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"{'ok' if ok else 'FAIL'} {name} {detail}".rstrip(), flush=True)

    t0 = time.monotonic()
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(a.workdir, "qemu.stderr"), "w"))
    try:
        try:
            client, _ = wait_for_ssh(a.port, key, host_key, t0 + a.boot_timeout)
        except TimeoutError as e:
            check("boot to SSH", False, str(e))
            return 1
        check("boot to SSH", True, f"{time.monotonic() - t0:.1f} s from QEMU start")

        rc, out, _ = run(client, "uname -r")
        check("uname -r", rc == 0 and out.strip() == "2.0.36", repr(out.strip()))
        rc, _, _ = run(client, "false")
        check("false exits 1", rc == 1, f"rc={rc}")
        rc, _, _ = run(client, "sh -c 'exit 7'")
        check("sh -c 'exit 7'", rc == 7, f"rc={rc}")
        rc, out, _ = run(client, "cd /proc && pwd && id && ls /dev | wc -l")
        check("cwd/id/ls", rc == 0 and out.startswith("/proc\nuid=0(root)"), repr(out))

        try:  # a pty session: 2.0 has BSD ptys only (compat's openpty/ttyname_r)
            ch = client.get_transport().open_session()
            ch.get_pty()
            ch.exec_command("tty")
            out = ch.makefile().read().decode(errors="replace").strip()
            check("pty session", ch.recv_exit_status() == 0 and out.startswith("/dev/tty"), repr(out))
        except (OSError, paramiko.SSHException) as e:
            check("pty session", False, f"{type(e).__name__}: {e}")

        n = a.round_trips
        t = time.monotonic()
        bad = 0
        for i in range(n):
            rc, out, _ = run(client, f"echo {i}")
            bad += rc != 0 or out.strip() != str(i)
        dt = time.monotonic() - t
        check(f"{n} exec round trips", bad == 0, f"{dt:.2f} s, {1000 * dt / n:.1f} ms each")

        payload = os.urandom(1 << 20)
        local = os.path.join(a.workdir, "sftp-payload.bin")
        back = os.path.join(a.workdir, "sftp-back.bin")
        with open(local, "wb") as f:
            f.write(payload)
        try:
            t = time.monotonic()
            sftp = client.open_sftp()
            sftp.put(local, "/tmp/payload.bin")
            t_put = time.monotonic() - t
            t = time.monotonic()
            sftp.get("/tmp/payload.bin", back)
            t_get = time.monotonic() - t
            sftp.close()
            got = open(back, "rb").read()
            check("sftp put+get 1 MiB", got == payload,
                  f"put {t_put:.2f} s, get {t_get:.2f} s, "
                  f"sha256 {hashlib.sha256(got).hexdigest()[:16]}")
        except (OSError, paramiko.SSHException, EOFError) as e:
            check("sftp put+get 1 MiB", False, f"{type(e).__name__}: {e}")
        rc, out, _ = run(client, "md5sum /tmp/payload.bin")
        check("guest md5 matches", out.split()[:1] == [hashlib.md5(payload).hexdigest()], out.strip())
        client.close()
    finally:
        qemu.terminate()
        try:
            qemu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            qemu.kill()
            qemu.wait()
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
