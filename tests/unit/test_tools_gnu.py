"""The measured tools (guest-tools/tools) against GNU coreutils 9.1 / grep 3.8 on the host.

Why: the experiments compare the read() and mmap() versions of cat, wc and grep; that
comparison means something only if both produce exactly what the standard tools produce.
Both methods are run; on the host a pipe cannot be mapped (no extended mmap), so
--method=mmap on a pipe must fail with exit status 2 and a clear message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.settings import REPO

TOOLS = REPO / "guest-tools" / "tools"
ENV = {**os.environ, "LC_ALL": "C"}
METHODS = ["read", "mmap"]

pytestmark = pytest.mark.skipif(
    not (shutil.which("cc") and Path("/usr/bin/wc").exists() and Path("/usr/bin/grep").exists()),
    reason="needs a C compiler and GNU coreutils/grep",
)


@pytest.fixture(scope="session")
def bins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tools")
    subprocess.run(["sh", str(TOOLS / "build.sh"), "host", str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    (d / "a.txt").write_bytes(b"alpha beta\ngamma  delta\n\nfoo.bar foo*bar [x] a^b $end\nABC abc Abc\n")
    (d / "b.txt").write_bytes(b"one\ntwo two\nthree three three\nabcabc\nxyzzy\n")
    (d / "empty.txt").write_bytes(b"")
    (d / "nonl.txt").write_bytes(b"first line\nlast line without newline abc")
    (d / "nul.txt").write_bytes(b"abc\x00def\nplain abc\nno\x00match\n\x00\n")
    (d / "ctrl.txt").write_bytes(b"a\x01b c\x80d \x7f\t\v\f\r e\n\x00 \x00x\n")
    (d / "long.txt").write_bytes(b"short abc\n" + b"xy" * 512 * 1024 + b" abc end\nafter\n")
    lines = b"".join(b"line %06d abc\n" % i for i in range(30000))
    late = bytearray(lines)
    late[250000] = 0  # first NUL in GNU grep's third 96 KiB block
    (d / "late_nul.txt").write_bytes(bytes(late))
    return d


def run(argv: list[str], stdin: bytes | None = None, cwd: Path | None = None) -> tuple[bytes, bytes, int]:
    # GNU names itself by argv[0]: run /usr/bin/X as "X"
    exe = argv[0] if argv[0].startswith("/usr/bin/") else None
    args = [Path(argv[0]).name, *argv[1:]] if exe else argv
    p = subprocess.run(args, executable=exe, input=stdin, capture_output=True, env=ENV, cwd=cwd, timeout=60)
    return p.stdout, p.stderr, p.returncode


def same(
    bins: Path,
    tool: str,
    method: str,
    args: list[str],
    cwd: Path,
    stdin: bytes | None = None,
    check_stderr: bool = True,
) -> None:
    gnu = run([f"/usr/bin/{tool}", *args], stdin, cwd)
    ours = run([str(bins / tool), f"--method={method}", *args], stdin, cwd)
    assert ours[0] == gnu[0], f"stdout differs: {tool} {args}"
    assert ours[2] == gnu[2], f"exit status differs: {tool} {args}: {ours[2]} != {gnu[2]}"
    if check_stderr:
        assert ours[1] == gnu[1], f"stderr differs: {tool} {args}: {ours[1]!r} != {gnu[1]!r}"


FILESETS = [
    ["a.txt"],
    ["a.txt", "b.txt"],
    ["a.txt", "nosuch", "b.txt"],
    ["empty.txt"],
    ["nonl.txt"],
    ["nul.txt"],
    ["ctrl.txt"],
    ["long.txt"],
    ["late_nul.txt"],
    ["empty.txt", "nonl.txt", "nul.txt"],
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("files", FILESETS, ids=lambda f: "+".join(f))
def test_cat(bins: Path, data: Path, method: str, files: list[str]) -> None:
    same(bins, "cat", method, files, data)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("files", FILESETS, ids=lambda f: "+".join(f))
@pytest.mark.parametrize(
    "opts",
    [[], ["-l"], ["-w"], ["-c"], ["-lw"], ["-l", "-c"], ["-c", "-w", "-l"]],
    ids=lambda o: "".join(o) or "default",
)
def test_wc(bins: Path, data: Path, method: str, files: list[str], opts: list[str]) -> None:
    same(bins, "wc", method, [*opts, *files], data)


@pytest.mark.parametrize("method", METHODS)
def test_wc_stdin_from_regular_file(bins: Path, data: Path, method: str) -> None:
    # GNU takes the column width from the size of a regular-file stdin
    for name in ["a.txt", "long.txt", "empty.txt"]:
        for opts in [[], ["-l"], ["-lw"]]:
            with open(data / name, "rb") as f:
                gnu = subprocess.run(["wc", *opts], executable="/usr/bin/wc", stdin=f, capture_output=True, env=ENV)
            with open(data / name, "rb") as f:
                ours = subprocess.run(
                    [str(bins / "wc"), f"--method={method}", *opts], stdin=f, capture_output=True, env=ENV
                )
            assert (ours.stdout, ours.returncode) == (gnu.stdout, gnu.returncode), (name, opts)


def test_cat_wc_directory(bins: Path, data: Path) -> None:
    (data / "dir").mkdir(exist_ok=True)
    for method in METHODS:
        same(bins, "cat", method, ["a.txt", "dir"], data)
        same(bins, "wc", method, ["dir", "a.txt"], data)
        same(bins, "grep", method, ["a", "dir", "a.txt"], data)


GREP_CASES = [
    ["abc"],
    ["^a"],
    ["c$"],
    ["^$"],
    ["a.*b"],
    ["[[:upper:]][a-z]"],
    ["[^a-z ]"],
    ["\\(ab\\)c\\1"],
    ["\\(t[a-z]*\\) \\1"],
    ["b\\{2\\}"],
    ["foo.bar"],
    ["foo\\.bar"],
    ["\\[x\\]"],
    ["a^b"],
    ["\\$end"],
    [""],
    ["-F", "foo*bar"],
    ["-F", "[x]"],
    ["-F", "a^b"],
    ["-F", "$end"],
    ["-F", "."],
    ["-F", ""],
    ["-F", "abc\nxyz"],
    ["abc\n^t"],
    ["-c", "abc"],
    ["-v", "abc"],
    ["-n", "abc"],
    ["-i", "abc"],
    ["-i", "-F", "ABC"],
    ["-vn", "a"],
    ["-cv", "abc"],
    ["-cvni", "ABC"],
    ["-n", "-i", "-F", "LINE"],
    ["nothing-matches-this"],
    ["-c", "nothing-matches-this"],
    ["-v", ""],
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("files", FILESETS, ids=lambda f: "+".join(f))
@pytest.mark.parametrize("args", GREP_CASES, ids=lambda a: " ".join(a).replace("\n", "\\n"))
def test_grep(bins: Path, data: Path, method: str, files: list[str], args: list[str]) -> None:
    same(bins, "grep", method, [*args, *files], data)


def test_grep_bad_regex_exit_2(bins: Path, data: Path) -> None:
    for method in METHODS:
        same(bins, "grep", method, ["a\\", "a.txt"], data, check_stderr=False)
        same(bins, "grep", method, ["\\(", "a.txt"], data, check_stderr=False)


@pytest.mark.parametrize(
    "tool,args",
    [("cat", []), ("wc", []), ("wc", ["-l"]), ("grep", ["abc"]), ("grep", ["-c", "abc"]), ("grep", ["-n", "x"])],
)
def test_stdin_pipe_read(bins: Path, data: Path, tool: str, args: list[str]) -> None:
    for name in ["a.txt", "nul.txt", "nonl.txt", "long.txt", "empty.txt"]:
        same(bins, tool, "read", args, data, stdin=(data / name).read_bytes())
        same(bins, tool, "read", [*args, "-"], data, stdin=(data / name).read_bytes())
        same(bins, tool, "read", [*args, "a.txt", "-"], data, stdin=(data / name).read_bytes())


@pytest.mark.parametrize("tool,args", [("cat", []), ("wc", []), ("grep", ["abc"])])
def test_mmap_on_pipe_without_xmmap_fails_clearly(bins: Path, data: Path, tool: str, args: list[str]) -> None:
    out, err, rc = run([str(bins / tool), "--method=mmap", *args], b"abc\n", data)
    assert rc == 2
    assert out == b""
    assert b"--method=mmap" in err and b"extended mmap" in err


def test_unknown_method(bins: Path) -> None:
    for tool in ["cat", "wc", "grep"]:
        _, err, rc = run([str(bins / tool), "--method=splice", "x"])
        assert rc == 2 and b"invalid method" in err


@pytest.mark.parametrize("method", METHODS)
def test_gendata_inputs(bins: Path, tmp_path: Path, method: str) -> None:
    g = tmp_path / "g.txt"
    with open(g, "wb") as f:
        subprocess.run([str(bins / "gendata"), "7", "3000000"], stdout=f, check=True)
    assert g.stat().st_size == 3000000
    raw = g.read_bytes()
    assert max(raw) < 128 and raw.count(b"\n") > 30000
    # deterministic, and a prefix of a longer run with the same seed
    again = subprocess.run([str(bins / "gendata"), "7", "1000"], capture_output=True, check=True).stdout
    assert again == raw[:1000]
    same(bins, "cat", method, [str(g)], tmp_path)
    same(bins, "wc", method, [str(g)], tmp_path)
    for args in (["the"], ["-c", "^[a-z]* pipe"], ["-F", "-c", "mmap"], ["-in", "kernel.*page"], ["-v", "a"]):
        same(bins, "grep", method, [*args, str(g)], tmp_path)


def test_read_buffer_sizes_do_not_change_output(bins: Path, data: Path) -> None:
    for buf in ["1", "7", "4096"]:
        for tool, args in [
            ("cat", ["long.txt", "nonl.txt"]),
            ("wc", ["a.txt", "long.txt"]),
            ("grep", ["-n", "abc", "long.txt", "nonl.txt", "nul.txt"]),
        ]:
            gnu = run([f"/usr/bin/{tool}", *args], None, data)
            ours = run([str(bins / tool), "--method=read", f"--buffer={buf}", *args], None, data)
            assert ours == gnu, (tool, buf)


def test_pipemap_read_read(bins: Path) -> None:
    for n, c in [(0, 512), (1, 1), (100000, 512), (1 << 20, 65536), (3000001, 4093)]:
        out, err, rc = run([str(bins / "pipemap"), "--writer=read", "--reader=read", str(n), str(c)])
        assert rc == 0, err
        assert out == f"pipemap bytes={n} chunk={c} writer=read reader=read work=verify ok\n".encode()


@pytest.mark.parametrize("work", ["none", "touch", "verify"])
def test_pipemap_work_levels_on_the_hosts_pipe(bins: Path, work: str) -> None:
    """Every work level moves every byte (the reader checks the total, and the sum at touch)."""
    for n, c in [(0, 512), (1, 1), (100000, 512), (1 << 20, 65536), (3000001, 4093)]:
        out, err, rc = run([str(bins / "pipemap"), f"--work={work}", str(n), str(c)])
        assert rc == 0, err
        assert out == f"pipemap bytes={n} chunk={c} writer=read reader=read work={work} ok\n".encode()


def test_second_layout_builds_other_binaries_of_the_same_programs(bins: Path, data: Path, tmp_path: Path) -> None:
    """O2-align moves code (alignment, link order), never what a tool prints; an unknown layout
    is refused listing the valid ones."""
    alt = tmp_path / "O2-align"
    subprocess.run(["sh", str(TOOLS / "build.sh"), "host", str(alt), "O2-align"], check=True, capture_output=True)
    assert "layout: O2-align" in (alt / "BUILDINFO").read_text()
    for t in ("cat", "wc", "grep", "pipemap"):
        assert (alt / t).read_bytes() != (bins / t).read_bytes(), t
    f = str(data / "a.txt")
    for argv in (["cat", "--method=mmap", f], ["wc", f], ["grep", "-F", "a", f]):
        assert run([str(alt / argv[0]), *argv[1:]])[:1] == run([str(bins / argv[0]), *argv[1:]])[:1]
    for work in ("none", "touch", "verify"):
        out, err, rc = run([str(alt / "pipemap"), f"--work={work}", "300000", "4096"])
        assert rc == 0 and out.endswith(f"work={work} ok\n".encode()), err
    bad = subprocess.run(["sh", str(TOOLS / "build.sh"), "host", str(tmp_path / "x"), "O3"], capture_output=True)
    assert bad.returncode == 2 and b"unknown layout 'O3' (valid: O2 O2-align)" in bad.stderr


def test_pipemap_unknown_work_level_lists_the_valid_ones(bins: Path) -> None:
    out, err, rc = run([str(bins / "pipemap"), "--work=fast", "100", "10"])
    assert rc == 2 and out == b"" and b"invalid work level 'fast' (none, touch or verify)" in err


def test_pipemap_mmap_without_xmmap_exit_2(bins: Path) -> None:
    for args in (["--reader=mmap"], ["--writer=mmap"]):
        _, err, rc = run([str(bins / "pipemap"), *args, "10000", "512"])
        assert rc == 2 and b"extended mmap" in err


TIME_RE = re.compile(
    rb"^TIME real_us=(\d+) user_us=(\d+) sys_us=(\d+) status=(\d+) sink=hash out_bytes=(\d+) "
    rb"out_fnv=([0-9a-f]{16}) reps=(\d+)( producer_status=\d+)?\n$"
)


def fnv1a64(b: bytes) -> str:
    h = 0xCBF29CE484222325
    for x in b:
        h = ((h ^ x) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def test_timeit(bins: Path, data: Path, tmp_path: Path) -> None:
    src = (data / "a.txt").read_bytes()
    out, _, rc = run(
        [
            str(bins / "timeit"),
            "-n",
            "3",
            "-i",
            str(data / "a.txt"),
            "-o",
            str(tmp_path / "o"),
            "--",
            str(bins / "cat"),
            "--method=mmap",
        ]
    )
    assert rc == 0
    m = TIME_RE.match(out)
    assert m, out
    assert int(m[4]) == 0 and int(m[5]) == len(src) and m[6].decode() == fnv1a64(src) and int(m[7]) == 3
    assert (tmp_path / "o").read_bytes() == src
    # producer piped into the program; only the program's status counts in status=
    out, _, rc = run(
        [
            str(bins / "timeit"),
            "-P",
            str(bins / "gendata"),
            "3",
            "200000",
            "--",
            "--",
            str(bins / "wc"),
            "--method=read",
        ]
    )
    gen = subprocess.run([str(bins / "gendata"), "3", "200000"], capture_output=True).stdout
    want = subprocess.run(["/usr/bin/wc"], input=gen, capture_output=True, env=ENV).stdout
    m = TIME_RE.match(out)
    assert rc == 0 and m and m[6].decode() == fnv1a64(want) and m[8] == b" producer_status=0"
    # a failing program: its status, and timeit exits 1
    out, _, rc = run([str(bins / "timeit"), "--", str(bins / "cat"), "/nonexistent"])
    m = TIME_RE.match(out)
    assert rc == 1 and m and int(m[4]) == 1 and int(m[5]) == 0


@pytest.mark.parametrize("sink", ["null", "file", "pipe"])
def test_timeit_sinks(bins: Path, data: Path, tmp_path: Path, sink: str) -> None:
    """null: no pipe and no count; file: the output lands in the file (its size is out_bytes);
    pipe: drained and counted, never hashed. A producer works with every sink."""
    src = (data / "a.txt").read_bytes()
    sinkfile = tmp_path / "sink"
    out, err, rc = run([str(bins / "timeit"), "-n", "2", "-s", sink, "-f", str(sinkfile), "-i",
                        str(data / "a.txt"), "--", str(bins / "cat"), "--method=read"])
    assert rc == 0, err
    fields = dict(kv.split("=", 1) for kv in out.decode().split()[1:])
    assert fields["sink"] == sink and fields["status"] == "0" and fields["reps"] == "2"
    assert "out_fnv" not in fields
    assert ("out_bytes" in fields) is (sink != "null")
    if sink != "null":
        assert int(fields["out_bytes"]) == len(src)
    if sink == "file":
        assert sinkfile.read_bytes() == src  # truncated per run: one copy, not two
    assert out.startswith(b"TIME real_us=") and out.endswith(b" reps=2\n")
    out, err, rc = run([str(bins / "timeit"), "-s", sink, "-f", str(sinkfile), "-P", str(bins / "gendata"), "3",
                        "20000", "--", "--", str(bins / "wc"), "--method=read"])
    assert rc == 0 and out.rstrip().endswith(b" producer_status=0"), err


def test_timeit_unknown_sink_lists_the_valid_ones(bins: Path) -> None:
    out, err, rc = run([str(bins / "timeit"), "-s", "disk", "--", "true"])
    assert rc == 2 and out == b"" and b"unknown sink 'disk' (hash, null, file or pipe)" in err


# Property: random small inputs, our wc, grep -F and cat equal GNU (both methods).
ALPHABET = st.sampled_from(list(b"ab \n\t\x00\x01\x80xyZ.*"))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(ALPHABET, max_size=200).map(bytes),
    pat=st.lists(st.sampled_from(list(b"abxZ.* ")), max_size=3).map(bytes),
    opts=st.sampled_from([[], ["-c"], ["-v"], ["-n"], ["-i"], ["-cv"], ["-vn"]]),
)
def test_property_small_inputs(bins: Path, tmp_path: Path, body: bytes, pat: bytes, opts: list[str]) -> None:
    f = tmp_path / "in.bin"
    f.write_bytes(body)
    for method in METHODS:
        same(bins, "cat", method, [str(f)], tmp_path)
        same(bins, "wc", method, [str(f)], tmp_path)
        same(bins, "grep", method, ["-F", *opts, "--", pat.decode(), str(f)], tmp_path)
    same(bins, "wc", "read", [], tmp_path, stdin=body)
    same(bins, "grep", "read", ["-F", *opts, "--", pat.decode()], tmp_path, stdin=body)


def test_expected_output_of_a_pipe_cell_is_the_pipe_output(bins: Path, tmp_path: Path) -> None:
    """E3 feeds the tool through a pipe; with 8-digit counts wc's columns differ from a file on stdin.

    The reference run found this: every E3 wc cell at 16 MiB was stored as failed because
    the host computed its expectation with the file as stdin.
    """
    from harness import bench
    from harness import experiments as ex

    f = tmp_path / "in-10000000"
    f.write_bytes(b"a\n" * 5_000_000)  # 10,000,000 bytes: an 8-digit byte count
    tools = bench.Tools(host=bins, guest={"O2": bins}, hashes={}, buildinfo="", layout_info={}, busybox=bins / "none")
    cell = ex.Cell("E3", "xmmap", "tcg", "wc", "read", "", 10_000_000, 0, "", "null", "O2")
    piped = subprocess.run(f"cat {f} | {bins / 'wc'} --method=read", shell=True, capture_output=True, env=ENV,
                           check=True).stdout
    from_file = subprocess.run([bins / "wc", "--method=read"], stdin=f.open("rb"), capture_output=True, env=ENV,
                               check=True).stdout
    assert piped != from_file  # the formatting difference is real (GNU wc does the same)
    assert bench.expected_output(tools, cell, tmp_path) == bench.Expected(bench.fnv1a64(piped), len(piped))
