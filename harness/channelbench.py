"""Benchmark of the guest channel (a benchmark task, never a timed test).

Measures what every later experiment pays for: boot to SSH (median of several boots),
the round trip of one command, SFTP upload throughput, a long run of consecutive round
trips that must all succeed, and the bulk route for benchmark inputs: a raw data disk
attached as /dev/hdb and read inside the guest, because the emulated ne2k NIC moves only
a fraction of a MB/s.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable

from harness import hashing, session
from harness.settings import Settings

GOALS = {"boot_to_ssh_median_s": 4.0, "round_trip_median_ms": 50.0, "failures": 0}


def run(settings: Settings, image: session.GuestImage, say: Callable[[str], None], boots: int = 5,
        round_trips: int = 200, streak: int = 1000, upload_mib: int = 2, disk_mib: int = 16) -> dict[str, object]:
    work = settings.build / "bench"
    work.mkdir(parents=True, exist_ok=True)
    boot_s, ready_s = [], []
    for i in range(boots):
        t0 = time.monotonic()
        with session.machine(settings, image, name=f"bench-boot{i}") as (m, ch):
            ch.check("true")
            ready_s.append(time.monotonic() - t0)
            boot_s.append(m.ready_seconds)
        say(f"boot {i + 1}/{boots}: SSH banner {boot_s[-1]:.2f} s, first command done {ready_s[-1]:.2f} s")
    data = work / "data.img"
    if not data.exists() or data.stat().st_size != disk_mib << 20:
        data.write_bytes(os.urandom(disk_mib << 20))
    upload = work / "upload.bin"
    upload.write_bytes(os.urandom(upload_mib << 20))
    with session.machine(settings, image, name="bench", data_disk=data) as (_, ch):
        rtt = []
        for _ in range(round_trips):
            rtt.append(ch.run("true").seconds * 1000)
        say(f"round trip: median {statistics.median(rtt):.1f} ms over {round_trips}")
        failures = 0
        for i in range(streak):
            r = ch.run(f"echo {i}")
            failures += r.status != 0 or r.text != f"{i}\n"
        say(f"{streak} consecutive round trips: {failures} failures")
        t0 = time.monotonic()
        ch.put(upload, "/tmp/upload.bin")
        up_s = time.monotonic() - t0
        ch.check("rm /tmp/upload.bin")
        say(f"SFTP upload of {upload_mib} MiB (with hash check): {upload_mib / up_s:.2f} MiB/s")
        t0 = time.monotonic()
        r = ch.check(f"dd if=/dev/hdb bs=65536 count={disk_mib * 16} 2>/dev/null | sha256sum", timeout=600)
        disk_s = time.monotonic() - t0
        disk_ok = r.text.split()[0] == hashing.sha256_file(data)
        say(f"data disk /dev/hdb: {disk_mib} MiB read and hashed in the guest at {disk_mib / disk_s:.2f} MiB/s "
            f"(hash {'matches' if disk_ok else 'DIFFERS'})")
    result: dict[str, object] = {
        "boot_to_ssh_s": boot_s, "boot_to_ssh_median_s": statistics.median(boot_s),
        "first_command_median_s": statistics.median(ready_s),
        "round_trip_median_ms": statistics.median(rtt), "round_trip_max_ms": max(rtt),
        "failures": failures, "streak": streak,
        "sftp_upload_mib_s": upload_mib / up_s, "data_disk_mib_s": disk_mib / disk_s, "data_disk_hash_ok": disk_ok,
    }
    result["goals_met"] = {k: (result[k] <= v) for k, v in GOALS.items()}  # type: ignore[operator]
    (work / "channel.json").write_text(json.dumps(result, indent=2) + "\n")
    return result

