"""Evidence for errors that need a setting this machine should not change: each runs in
a child process, as nobody or in a network or mount namespace of its own (unshare), so
sysctls, routes and mounts change only there, never globally."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="wb-iso-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def in_namespace(kind: str, script: str, code: str, *args: str,
                 needs: tuple[str, ...] = ()) -> Any:
    """Run `code` (a CHILD program) after `script` in a new namespace (unshare -n or -m)
    as root; its JSON output. Skipped where namespaces or the tools are not to be had."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", *needs)):
        pytest.skip(f"needs root, unshare and {', '.join(needs) or 'nothing else'}")
    done = subprocess.run(["unshare", kind, "sh", "-c", f'{script} && exec "$@"', "sh",
                           sys.executable, "-c", code, str(ROOT), *args],
                          capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0 and ("unshare" in done.stderr or "mount:" in done.stderr):
        pytest.skip(f"no namespace of its own here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# -- privileges and limits, in a child process -------------------------------------------

CHILD = """
import json, resource, socket, sys
sys.path.insert(0, sys.argv[1])
from workbench.core.diagnosis import FailedCall, diagnose
from workbench.io.evidence import gather

def run(op, fn, args, family, type_, proto=0):
    try:
        fn()
    except OSError as exc:
        import errno
        call = FailedCall(op, errno.errorcode[exc.errno], exc.errno, exc.strerror, args,
                          family, type_, proto)
        return diagnose(call, gather(call)).to_json()
    return None
"""

PRIVILEGES = CHILD + """
port, folder = int(sys.argv[2]) - 1, sys.argv[3]
mine, theirs = folder + "/mine.sock", folder + "/theirs.sock"
out = {
    "bind": run("bind", lambda: socket.socket().bind(("0.0.0.0", port)),
                {"address": f"0.0.0.0:{port}"}, "inet", "stream"),
    "ping": run("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 1),
                {}, "inet", "dgram", 1),
    "raw": run("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1),
               {}, "inet", "raw", 1),
    "unix_bind": run("bind", lambda: socket.socket(socket.AF_UNIX).bind(mine),
                     {"address": "unix:" + mine}, "unix", "stream"),
    "unix_connect": run("connect", lambda: socket.socket(socket.AF_UNIX).connect(theirs),
                        {"address": "unix:" + theirs}, "unix", "stream"),
}
sysctl = "/proc/sys/net/ipv4/tcp_%s_congestion_control"
available, allowed = (open(sysctl % w).read().split() for w in ("available", "allowed"))
barred = [name for name in available if name not in allowed]
if barred:
    out["congestion"] = run(
        "setsockopt", lambda: socket.socket().setsockopt(socket.IPPROTO_TCP,
                                                         socket.TCP_CONGESTION,
                                                         barred[0].encode()),
        {"option": "TCP_CONGESTION", "value": barred[0]}, "inet", "stream")
    out["barred"] = barred[0]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def as_nobody() -> Iterator[dict[str, Any]]:
    """One run as nobody in a network namespace of its own, where the test sets
    ip_unprivileged_port_start and closes ping_group_range (never globally), beside a
    root-owned folder nobody may not write and a root-only socket in it."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to drop privileges")
    folder = tempfile.mkdtemp(prefix="wb-nobody-")
    os.chmod(folder, 0o755)
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(os.path.join(folder, "theirs.sock"))
        server.listen()
        os.chmod(os.path.join(folder, "theirs.sock"), 0o600)
        yield _unprivileged(PRIVILEGES, 1024, folder)
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


def _unprivileged(code: str, start: int, *args: str) -> dict[str, Any]:
    script = (f"echo {start} > /proc/sys/net/ipv4/ip_unprivileged_port_start && "
              "echo '1 0' > /proc/sys/net/ipv4/ping_group_range && "
              "set -- setpriv --reuid=65534 --regid=65534 --clear-groups -- \"$@\"")
    return in_namespace("-n", script, code, str(start), *args, needs=("setpriv",))


def _evidence(d: dict[str, Any], key: str) -> Any:
    return next(e["value"] for e in d["evidence"] if e["key"] == key)


def test_eacces_below_the_unprivileged_port_start_as_nobody(as_nobody: dict[str, Any]) -> None:
    bind = as_nobody["bind"]
    assert bind is not None and bind["errno"] == "EACCES"
    assert _evidence(bind, "sysctl.ip_unprivileged_port_start") == 1024
    assert _evidence(bind, "process.caps")["CAP_NET_BIND_SERVICE"] is False
    cause = bind["causes"][0]
    assert "port 1023 is below net.ipv4.ip_unprivileged_port_start (1024)" in cause["text"]
    assert "CAP_NET_BIND_SERVICE" in cause["text"]
    assert "process.caps" in cause["evidence"]


def test_eacces_on_a_ping_socket_names_the_group_range(as_nobody: dict[str, Any]) -> None:
    ping = as_nobody["ping"]
    assert ping is not None and ping["errno"] == "EACCES"
    assert _evidence(ping, "sysctl.ping_group_range") == [1, 0]
    assert _evidence(ping, "process.ids")["gid"] == 65534
    assert "ping_group_range is 1 0" in ping["causes"][0]["text"]
    assert "unprivileged_port" not in ping["meaning"]


def test_eperm_on_a_raw_socket_names_the_capability(as_nobody: dict[str, Any]) -> None:
    raw = as_nobody["raw"]
    assert raw is not None and raw["errno"] == "EPERM"
    assert _evidence(raw, "process.caps")["CAP_NET_RAW"] is False
    assert "lacks CAP_NET_RAW" in raw["causes"][0]["text"]
    # the range is 1 0, so a ping socket is no way out here: no fix from evidence says so
    assert not any("ping_group_range" in f["text"] for f in raw["fixes"] if f["evidence"])


def test_eacces_on_unix_paths_as_nobody(as_nobody: dict[str, Any]) -> None:
    bind, connect = as_nobody["unix_bind"], as_nobody["unix_connect"]
    assert bind["errno"] == connect["errno"] == "EACCES"
    assert "may not create files in" in bind["causes"][0]["text"]
    assert _evidence(bind, "unix.path")["dir_writable"] is False
    assert "(mode 0o600, owner uid 0) is not writable" in connect["causes"][0]["text"]
    assert "the directory must be writable" not in connect["meaning"]  # the connect meaning


LIMIT = CHILD + """
import os
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
opened = len(os.listdir("/proc/self/fd")) - 1
resource.setrlimit(resource.RLIMIT_NOFILE, (opened, hard))
print(json.dumps(run("socket", socket.socket, {}, "inet", "stream")))
"""


def test_emfile_under_a_lowered_limit_counts_the_descriptors() -> None:
    done = subprocess.run([sys.executable, "-c", LIMIT, str(ROOT)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
    assert d["errno"] == "EMFILE"
    soft, _hard = _evidence(d, "process.nofile")
    assert _evidence(d, "process.open_fds") == soft  # counted even with no descriptor left
    assert f"against a limit of {soft}" in d["causes"][0]["text"]


EPHEMERAL = CHILD + """
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
target = server.getsockname()
with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:  # this namespace's only
    f.write("60000 60001")  # narrowed once the listener has its port
held = []
for _ in range(2):  # the whole range: two ports
    client = socket.socket()
    client.connect(target)
    held.append(client)
address = f"127.0.0.1:{target[1]}"
print(json.dumps(run("connect", lambda: socket.socket().connect(target),
                     {"address": address}, "inet", "stream")))
"""


def test_eaddrnotavail_when_the_ephemeral_range_is_used_up() -> None:
    """In a network namespace of its own with two ephemeral ports (never globally)."""
    d = in_namespace("-n", "ip link set lo up", EPHEMERAL, needs=("ip",))
    assert d["errno"] == "EADDRNOTAVAIL"
    assert _evidence(d, "sysctl.ip_local_port_range") == [60000, 60001]
    assert _evidence(d, "tcp.toward")["count"] == 2
    assert "2 connections to this destination use up the 2 ephemeral ports" in (
        d["causes"][0]["text"])


ROUTES = CHILD + """
out = {}
for name, host in (("none", "203.0.113.5"), ("unreachable", "198.51.100.9"),
                   ("prohibit", "198.51.101.9"), ("blackhole", "198.51.102.9")):
    out[name] = run("connect", lambda: socket.socket().connect((host, 80)),
                    {"address": f"{host}:80"}, "inet", "stream")
print(json.dumps(out))
"""


def test_routes_that_refuse_at_once() -> None:
    """In a network namespace of its own: no default route, and an unreachable, a
    prohibit and a blackhole route (documentation addresses, never sent anywhere)."""
    script = ("ip link set lo up && ip route add unreachable 198.51.100.0/24 && "
              "ip route add prohibit 198.51.101.0/24 && "
              "ip route add blackhole 198.51.102.0/24")
    out = in_namespace("-n", script, ROUTES, needs=("ip",))
    expected = {"none": ("ENETUNREACH", "no route to 203.0.113.5"),
                "unreachable": ("EHOSTUNREACH", "an `unreachable` route"),
                "prohibit": ("EACCES", "a `prohibit` route"),
                "blackhole": ("EINVAL", "a `blackhole` route")}
    for name, (errno_name, words) in expected.items():
        d = out[name]
        assert d["errno"] == errno_name, name
        assert words in d["causes"][0]["text"], (name, d["causes"])
        assert d["causes"][0]["evidence"] == ["route"]


READ_ONLY = CHILD + """
path = sys.argv[2] + "/x.sock"
print(json.dumps(run("bind", lambda: socket.socket(socket.AF_UNIX).bind(path),
                     {"address": "unix:" + path}, "unix", "stream")))
"""


def test_erofs_on_a_read_only_mount(sock_dir: str) -> None:
    """A read-only tmpfs mounted in a mount namespace of its own (never globally)."""
    d = in_namespace("-m", f"mount -t tmpfs -o ro tmpfs {shlex.quote(sock_dir)}", READ_ONLY,
                     sock_dir)
    assert d["errno"] == "EROFS"
    assert "mounted read-only" in d["causes"][0]["text"]


NO_INODES = CHILD + """
open(sys.argv[2] + "/filler", "w").close()  # the last free inode
path = sys.argv[2] + "/x.sock"
print(json.dumps(run("bind", lambda: socket.socket(socket.AF_UNIX).bind(path),
                     {"address": "unix:" + path}, "unix", "stream")))
"""


def test_enospc_when_the_filesystem_has_no_inode_left(sock_dir: str) -> None:
    """A two-inode tmpfs mounted in a mount namespace of its own (never globally)."""
    d = in_namespace("-m", f"mount -t tmpfs -o nr_inodes=2 tmpfs {shlex.quote(sock_dir)}",
                     NO_INODES, sock_dir)
    assert d["errno"] == "ENOSPC"
    assert "no free inodes left" in d["causes"][0]["text"]


SILENT = CHILD + """
def attempt():
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)  # give up after ~3 s
    sock.connect(("10.77.0.2", 80))

print(json.dumps(run("connect", attempt, {"address": "10.77.0.2:80"}, "inet", "stream")))
"""


def test_etimedout_when_no_answer_comes() -> None:
    """In a network namespace of its own, a route sends 10.77.0.2 into lo, where no
    host has it: the SYNs go unanswered (a private range, and nothing leaves lo)."""
    d = in_namespace("-n", "ip link set lo up && ip route add 10.77.0.0/24 dev lo", SILENT,
                     needs=("ip",))
    assert d["errno"] == "ETIMEDOUT" and d["call"] == "connect"
    assert _evidence(d, "route")["dev"] == "lo"
    assert "no answer came back" in d["causes"][0]["text"]


def test_eperm_on_a_congestion_algorithm_not_allowed(as_nobody: dict[str, Any]) -> None:
    if "congestion" not in as_nobody:
        pytest.skip("every available congestion algorithm is allowed here")
    d, name = as_nobody["congestion"], as_nobody["barred"]
    assert d["errno"] == "EPERM" and d["call"] == "setsockopt"
    assert f"{name!r} exists but only" in d["causes"][0]["text"]
    assert d["causes"][0]["evidence"] == ["sysctl.tcp_allowed_congestion_control"]
