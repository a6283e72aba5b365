"""Evidence from the live system, gathered for errors made with real calls here."""

from __future__ import annotations

import errno
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
from support import HAS_IPV6, accept_queue, wait_until

from workbench.core.diagnosis import Diagnosis, FailedCall, diagnose
from workbench.io.evidence import capabilities, gather
from workbench.io.evidence_net import is_local

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


@pytest.fixture
def sock_dir() -> Iterator[str]:
    """A short directory for Unix socket paths (sun_path is 108 bytes)."""
    path = tempfile.mkdtemp(prefix="wb-ev-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fails(fn: Any, *args: Any) -> OSError:
    with pytest.raises(OSError) as caught:
        fn(*args)
    return caught.value


def explain(op: str, exc: OSError, address: str, family: str, sock_type: str = "stream",
            **more: Any) -> Diagnosis:
    name = errno.errorcode[exc.errno or 0]
    call = FailedCall(op, name, exc.errno or 0, exc.strerror or "", {"address": address},
                      family, sock_type, **more)
    return diagnose(call, gather(call))


def cause_of(d: Diagnosis) -> str:
    assert d.cause is not None and d.cause.evidence, d.causes
    return d.cause.text


# -- TCP ports ---------------------------------------------------------------------------


def test_econnrefused_on_a_bound_port_says_nothing_listens() -> None:
    with socket.socket() as held, socket.socket() as client:
        held.bind(("127.0.0.1", 0))  # bound, not listening: connecting gets a reset
        port = held.getsockname()[1]
        exc = fails(client.connect, ("127.0.0.1", port))
        assert exc.errno == errno.ECONNREFUSED
        d = explain("connect", exc, f"127.0.0.1:{port}", "inet")
    assert d.fact("tcp.listeners").value == {"port": port, "listeners": [], "queued": {},
                                             "uids": {}}
    assert d.fact("address.local").value["local"] is True
    assert f"nothing listens on port {port}" in cause_of(d)


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback")
def test_econnrefused_with_a_listener_on_the_other_family() -> None:
    with socket.socket(socket.AF_INET6) as server, socket.socket() as client:
        server.bind(("::1", 0))
        server.listen()
        port = server.getsockname()[1]
        exc = fails(client.connect, ("127.0.0.1", port))
        d = explain("connect", exc, f"127.0.0.1:{port}", "inet")
    assert f"[::1]:{port}" in d.fact("tcp.listeners").value["listeners"]
    assert f"on [::1]:{port}, not on 127.0.0.1" in cause_of(d)


def test_eaddrinuse_names_the_listening_holder() -> None:
    with socket.socket() as holder, socket.socket() as second:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        exc = fails(second.bind, ("127.0.0.1", port))
        assert exc.errno == errno.EADDRINUSE
        d = explain("bind", exc, f"127.0.0.1:{port}", "inet")
    assert f"a socket listens on 127.0.0.1:{port}" in cause_of(d)
    assert d.cause is not None and d.cause.evidence == ("tcp.listeners",)


def test_eaddrinuse_by_a_socket_bound_but_not_listening() -> None:
    with socket.socket() as holder, socket.socket() as second:
        holder.bind(("127.0.0.1", 0))
        port = holder.getsockname()[1]
        exc = fails(second.bind, ("127.0.0.1", port))
        d = explain("bind", exc, f"127.0.0.1:{port}", "inet")
    assert "bound but not listening" in cause_of(d)


def test_eaddrnotavail_on_an_address_not_here() -> None:
    with socket.socket() as sock:
        exc = fails(sock.bind, ("203.0.113.77", 0))  # TEST-NET-3: on no interface here
        assert exc.errno == errno.EADDRNOTAVAIL
        d = explain("bind", exc, "203.0.113.77:0", "inet")
    assert "203.0.113.77 is not assigned" in cause_of(d)


def test_is_local_knows_loopback_and_wildcards() -> None:
    assert is_local("127.0.0.1") and is_local("127.5.5.5") and is_local("0.0.0.0")
    assert is_local("::1") and is_local("::ffff:127.0.0.1")
    assert is_local("203.0.113.77") is False
    assert is_local("not an address") is None


# -- datagrams ---------------------------------------------------------------------------


def test_eacces_on_broadcast_without_so_broadcast() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        exc = fails(sock.sendto, b"x", ("255.255.255.255", 9))
        assert exc.errno == errno.EACCES
        d = explain("sendto", exc, "255.255.255.255:9", "inet", "dgram")
    assert d.fact("address.broadcast").value["broadcast"] is True
    assert "SO_BROADCAST is not set" in cause_of(d)


def test_emsgsize_over_the_udp_limit() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        data = b"x" * 70000
        exc = fails(sock.sendto, data, ("127.0.0.1", 9))
        assert exc.errno == errno.EMSGSIZE
        call = FailedCall("sendto", "EMSGSIZE", exc.errno, "",
                          {"address": "127.0.0.1:9", "data": data}, "inet", "dgram")
        d = diagnose(call, gather(call))
    assert "70000 bytes" in cause_of(d) and "65507" in cause_of(d)
    assert d.fact("sysctl.wmem_max") is not None


# -- Unix paths --------------------------------------------------------------------------


def test_unix_path_that_is_a_regular_file(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "plain")
    Path(path).write_text("not a socket")
    with socket.socket(socket.AF_UNIX) as client, socket.socket(socket.AF_UNIX) as server:
        refused = fails(client.connect, path)
        assert refused.errno == errno.ECONNREFUSED
        taken = fails(server.bind, path)
        assert taken.errno == errno.EADDRINUSE
    for op, exc in (("connect", refused), ("bind", taken)):
        d = explain(op, exc, f"unix:{path}", "unix")
        assert d.fact("unix.path").value["kind"] == "regular file"
        assert "is a regular file, not a socket" in cause_of(d)


def test_stale_unix_socket_file(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "stale.sock")
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(path)  # the file stays after the socket closes
    with socket.socket(socket.AF_UNIX) as client:
        exc = fails(client.connect, path)
    d = explain("connect", exc, f"unix:{path}", "unix")
    assert d.fact("unix.listener").value["bound"] is False
    assert "stale socket file" in cause_of(d)
    assert "stale" in d.meaning


def test_live_unix_listener_holds_its_path(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "live.sock")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as second:
        server.bind(path)
        server.listen()
        exc = fails(second.bind, path)
        d = explain("bind", exc, f"unix:{path}", "unix")
    assert d.fact("unix.listener").value["listening"] is True
    assert "a live socket listens" in cause_of(d)


def test_enoent_on_a_missing_unix_path(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "no-dir", "x.sock")
    with socket.socket(socket.AF_UNIX) as client:
        exc = fails(client.connect, path)
    assert exc.errno == errno.ENOENT
    d = explain("connect", exc, f"unix:{path}", "unix")
    assert "nothing exists at" in cause_of(d) and "nor its directory" in cause_of(d)


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
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def as_nobody() -> Iterator[dict[str, Any]]:
    """One run as nobody in a network namespace of its own, where the test sets
    ip_unprivileged_port_start and closes ping_group_range (never globally), beside a
    root-owned folder nobody may not write and a root-only socket in it."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        pytest.skip("needs root, unshare and setpriv to drop privileges")
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
              'exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"')
    done = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", sys.executable, "-c",
                           code, str(ROOT), str(start), *args],
                          capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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


def test_capabilities_decode_cap_eff() -> None:
    bits = (1 << 10) | (1 << 13)
    caps = capabilities(f"Name:\tx\nCapEff:\t{bits:016x}\n")
    assert caps == {"CAP_NET_BIND_SERVICE": True, "CAP_NET_ADMIN": False, "CAP_NET_RAW": True}
    assert capabilities("nothing here") is None


def test_gather_never_raises_and_skips_what_does_not_apply() -> None:
    for call in (FailedCall("connect", "ECONNREFUSED", args={"address": "peer:echo"}),
                 FailedCall("bind", "EADDRINUSE", args={"address": "bad address"}),
                 FailedCall("send", "EPIPE"), FailedCall("bind", "EACCES", family="inet",
                                                         args={"address": "unix:"})):
        facts = gather(call)
        assert "tcp.listeners" not in facts and "unix.path" not in facts


@pytest.mark.skipif(shutil.which("ip") is None, reason="no ip command")
def test_route_and_link_of_a_loopback_destination() -> None:
    call = FailedCall("connect", "ETIMEDOUT", errno.ETIMEDOUT, "",
                      {"address": "127.0.0.1:9"}, "inet", "stream")
    facts = gather(call)
    assert facts["route"].value["dev"] == "lo"
    assert facts["link"].value["mtu"] == int(Path("/sys/class/net/lo/mtu").read_text())
    assert "on lo" in diagnose(call, facts).cause.text  # type: ignore[union-attr]


def test_a_subnet_broadcast_address_is_known_from_ip_addr() -> None:
    from workbench.io.evidence_net import ip_addrs

    found = [a["broadcast"] for a in ip_addrs() or [] if a.get("broadcast")]
    if not found:
        pytest.skip("no interface here has a broadcast address")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        exc = fails(sock.sendto, b"x", (found[0], 9))  # refused before anything is sent
        assert exc.errno == errno.EACCES
        d = explain("sendto", exc, f"{found[0]}:9", "inet", "dgram")
    assert d.fact("address.broadcast").value == {"address": found[0], "broadcast": True}
    assert "SO_BROADCAST is not set" in cause_of(d)


def test_a_new_gatherer_is_one_function_and_one_that_fails_costs_nothing() -> None:
    from workbench.core.diagnosis import Fact
    from workbench.io.evidence import gatherer

    @gatherer("EXTEST")
    def broken(failed: FailedCall) -> Any:
        raise RuntimeError("a gatherer with a bug")

    @gatherer("EXTEST")
    def works(failed: FailedCall) -> Any:
        yield Fact("conns.holders", [], "test", "nothing holds it")

    assert set(gather(FailedCall("bind", "EXTEST"))) == {"conns.holders"}


def test_a_listeners_waiting_connections_are_counted() -> None:
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        first.connect(("127.0.0.1", port))  # queued, never accepted
        wait_until(lambda: accept_queue(port) == 1, "the connection in the accept queue")
        call = FailedCall("connect", "ETIMEDOUT", errno.ETIMEDOUT, "",
                          {"address": f"127.0.0.1:{port}"}, "inet", "stream")
        facts = gather(call)
    assert facts["tcp.listeners"].value["queued"] == {f"127.0.0.1:{port}": 1}
    assert "(1 waiting to be accepted)" in facts["tcp.listeners"].text
    assert "1 connection(s) waiting" in diagnose(call, facts).cause.text  # type: ignore[union-attr]


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
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip for a namespace of its own")
    script = 'ip link set lo up && exec "$@"'
    done = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", sys.executable, "-c",
                           EPHEMERAL, str(ROOT)], capture_output=True, text=True,
                          timeout=TIMEOUT)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
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
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip for a namespace of its own")
    script = ("ip link set lo up && ip route add unreachable 198.51.100.0/24 && "
              "ip route add prohibit 198.51.101.0/24 && "
              'ip route add blackhole 198.51.102.0/24 && exec "$@"')
    done = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", sys.executable, "-c",
                           ROUTES, str(ROOT)], capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
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
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a mount namespace of its own")
    script = f'mount -t tmpfs -o ro tmpfs {shlex.quote(sock_dir)} && exec "$@"'
    done = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-c",
                           READ_ONLY, str(ROOT), sock_dir], capture_output=True, text=True,
                          timeout=TIMEOUT)
    if done.returncode != 0 and ("unshare" in done.stderr or "mount" in done.stderr):
        pytest.skip(f"no mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
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
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a mount namespace of its own")
    script = f'mount -t tmpfs -o nr_inodes=2 tmpfs {shlex.quote(sock_dir)} && exec "$@"'
    done = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-c",
                           NO_INODES, str(ROOT), sock_dir], capture_output=True, text=True,
                          timeout=TIMEOUT)
    if done.returncode != 0 and ("unshare" in done.stderr or "mount" in done.stderr):
        pytest.skip(f"no mount namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
    assert d["errno"] == "ENOSPC"
    assert "no free inodes left" in d["causes"][0]["text"]


def test_proc_hex_matches_what_the_kernel_writes() -> None:
    from workbench.core.endpoints import parse_endpoint
    from workbench.io.evidence_net import proc_hex

    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.connect(server.getsockname())
        target = proc_hex(parse_endpoint(f"127.0.0.1:{server.getsockname()[1]}"))
        rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        assert any(r[2] == target for r in rows)  # the client's row names the server
    assert proc_hex(parse_endpoint("[::1]:80")) == "0" * 24 + "01000000:0050"


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
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip for a namespace of its own")
    script = 'ip link set lo up && ip route add 10.77.0.0/24 dev lo && exec "$@"'
    done = subprocess.run(["unshare", "-n", "sh", "-c", script, "sh", sys.executable, "-c",
                           SILENT, str(ROOT)], capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"no network namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
    assert d["errno"] == "ETIMEDOUT" and d["call"] == "connect"
    assert _evidence(d, "route")["dev"] == "lo"
    assert "no answer came back" in d["causes"][0]["text"]
