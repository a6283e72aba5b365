"""socat as an independent peer: byte-exact exchanges both ways, and a reset.

socat writes what it received to a file, or sends a file, so both directions are
checked against bytes no workbench code produced or consumed.
"""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import bound_port, ok, wait_until

from workbench.core.steps import Step
from workbench.io.capture import IN, OUT
from workbench.io.engine import Engine

SOCAT = shutil.which("socat")
pytestmark = pytest.mark.skipif(SOCAT is None, reason="socat is not installed")

TIMEOUT = 10.0
MIB = bytes([0x00, 0xFF, 0x00, 0xFF]) + random.Random(1).randbytes((1 << 20) - 4)
SMALL = b"\x00\xff" + bytes(range(256)) + b"\xff\x00 end\r\n"




class Socat:
    """One socat process; its log is collected on a thread so the pipe never fills."""

    def __init__(self, *args: str) -> None:
        assert SOCAT is not None
        self.args = [SOCAT, "-d", "-d", *args]
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._log = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in iter(self.proc.stderr.readline, b""):
            with self._lock:
                self._log += line

    @property
    def log(self) -> str:
        with self._lock:
            return self._log.decode(errors="replace")

    def wait_for(self, pattern: str) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def seen() -> bool:
            match = re.search(pattern, self.log)
            if match:
                found.append(match)
            elif self.proc.poll() is not None:
                pytest.fail(f"socat exited with {self.proc.returncode}: {self.log}")
            return bool(match)

        wait_until(seen, f"socat to log {pattern!r}")
        return found[0]

    def finish(self, timeout: float = TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"socat did not exit within {timeout} s: {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def socat() -> Iterator[Callable[..., Socat]]:
    started: list[Socat] = []

    def start(*args: str) -> Socat:
        process = Socat(*args)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def work() -> Iterator[Path]:
    """A short directory for files and Unix socket paths (sun_path is 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="wb-socat-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def new_socket(engine: Engine, family: str = "inet", type_: str = "stream") -> int:
    return int(ok(engine.call("socket", family=family, type=type_)).result["sock"])  # type: ignore[index]


def steps_of(engine: Engine, sid: int, op: str) -> list[Step]:
    return [s for s in list(engine.session.steps) if s.sock == sid and s.op == op]


def recorded_bytes(engine: Engine, sid: int, op: str) -> int:
    """Bytes the recorded receive steps hold (the capture counts them just before)."""
    return sum(len(s.data) for s in steps_of(engine, sid, op) if s.ok)


def saw_eof(engine: Engine, sid: int) -> bool:
    return any(s.ok and s.result and s.result.get("eof") for s in steps_of(engine, sid, "recv"))


def send_all_and_finish(engine: Engine, sid: int, data: bytes) -> None:
    assert ok(engine.call("send", sid, data=data, within=30)).result == {"sent": len(data)}
    ok(engine.call("shutdown", sid, how="wr"))


def accepted_child(engine: Engine, srv: int) -> int:
    wait_until(lambda: steps_of(engine, srv, "accept"), "the auto accept")
    step = ok(steps_of(engine, srv, "accept")[0])
    assert step.auto
    return int(step.result["sock"])  # type: ignore[index]


# -- TCP ----------------------------------------------------------------------------------


def test_tcp_workbench_to_socat_one_mebibyte(engine: Engine, socat: Callable[..., Socat],
                                              work: Path) -> None:
    out = work / "received.bin"
    peer = socat("-u", "TCP-LISTEN:0,bind=127.0.0.1", f"CREATE:{out}")
    port = peer.wait_for(r"listening on AF=2 127\.0\.0\.1:(\d+)").group(1)
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{port}"))
    send_all_and_finish(engine, sid, MIB)
    assert peer.finish() == 0
    assert out.read_bytes() == MIB
    assert engine.capture(sid).stream(OUT) == MIB


def test_tcp_socat_to_workbench_one_mebibyte(engine: Engine, socat: Callable[..., Socat],
                                              work: Path) -> None:
    source = work / "send.bin"
    source.write_bytes(MIB)
    srv = new_socket(engine)
    local = ok(engine.call("bind", srv, address="127.0.0.1:0")).result["local"]  # type: ignore[index]
    ok(engine.call("listen", srv, backlog=1))
    peer = socat("-u", f"OPEN:{source},rdonly", f"TCP:{local}")
    child = accepted_child(engine, srv)
    wait_until(lambda: saw_eof(engine, child), "socat's EOF")
    assert peer.finish() == 0
    assert engine.capture(child).stream(IN) == MIB
    recvs = [s for s in steps_of(engine, child, "recv") if s.ok]
    assert all(s.auto for s in recvs)
    assert b"".join(s.data for s in recvs) == MIB


def test_tcp_echo_through_socat_both_ways(engine: Engine, socat: Callable[..., Socat]) -> None:
    peer = socat("TCP-LISTEN:0,bind=127.0.0.1", "PIPE")
    port = peer.wait_for(r"listening on AF=2 127\.0\.0\.1:(\d+)").group(1)
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{port}"))
    ok(engine.call("send", sid, data=SMALL))
    wait_until(lambda: engine.capture(sid).totals[IN] >= len(SMALL), "the echo")
    assert engine.capture(sid).stream(IN) == SMALL
    ok(engine.call("close", sid))
    assert peer.finish() == 0


# -- UDP ----------------------------------------------------------------------------------


def test_udp_workbench_to_socat(engine: Engine, socat: Callable[..., Socat], work: Path) -> None:
    out = work / "received.bin"
    peer = socat("-u", "UDP-RECV:0,bind=127.0.0.1", f"CREATE:{out}")
    port = bound_port(peer.proc, "udp")  # socat logs no port for UDP-RECV: ask the kernel
    sid = new_socket(engine, type_="dgram")
    grams = [b"\x00", b"\xff" * 3, SMALL, bytes(range(256)) * 4]
    for gram in grams:
        ok(engine.call("sendto", sid, data=gram, address=f"127.0.0.1:{port}"))
    want = b"".join(grams)
    wait_until(lambda: out.exists() and out.stat().st_size >= len(want), "socat's file")
    assert out.read_bytes() == want


def test_udp_socat_to_workbench(engine: Engine, socat: Callable[..., Socat], work: Path) -> None:
    source = work / "send.bin"
    data = SMALL * 4  # 1096 bytes: socat sends blocks of 512 as separate datagrams
    source.write_bytes(data)
    sid = new_socket(engine, type_="dgram")
    local = ok(engine.call("bind", sid, address="127.0.0.1:0")).result["local"]  # type: ignore[index]
    peer = socat("-u", "-b", "512", f"OPEN:{source},rdonly", f"UDP-SENDTO:{local}")
    assert peer.finish() == 0
    wait_until(lambda: recorded_bytes(engine, sid, "recvfrom") >= len(data), "every datagram")
    grams = steps_of(engine, sid, "recvfrom")
    assert [s.data for s in grams] == [data[:512], data[512:1024], data[1024:]]
    assert all(s.auto for s in grams)
    assert len({s.result["peer"] for s in grams}) == 1  # type: ignore[index]


# -- Unix ---------------------------------------------------------------------------------


def test_unix_stream_workbench_to_socat_one_mebibyte(
    engine: Engine, socat: Callable[..., Socat], work: Path
) -> None:
    out, path = work / "received.bin", work / "s.sock"
    peer = socat("-u", f"UNIX-LISTEN:{path}", f"CREATE:{out}")
    peer.wait_for(r'listening on AF=1 "')
    sid = new_socket(engine, family="unix")
    ok(engine.call("connect", sid, address=f"unix:{path}"))
    send_all_and_finish(engine, sid, MIB)
    assert peer.finish() == 0
    assert out.read_bytes() == MIB


def test_unix_stream_socat_to_workbench_one_mebibyte(
    engine: Engine, socat: Callable[..., Socat], work: Path
) -> None:
    source, path = work / "send.bin", work / "wb.sock"
    source.write_bytes(MIB)
    srv = new_socket(engine, family="unix")
    ok(engine.call("bind", srv, address=f"unix:{path}"))
    ok(engine.call("listen", srv, backlog=1))
    peer = socat("-u", f"OPEN:{source},rdonly", f"UNIX-CONNECT:{path}")
    child = accepted_child(engine, srv)
    wait_until(lambda: saw_eof(engine, child), "socat's EOF")
    assert peer.finish() == 0
    assert engine.capture(child).stream(IN) == MIB


def test_unix_dgram_workbench_to_socat(engine: Engine, socat: Callable[..., Socat], work: Path
                                       ) -> None:
    out, path = work / "received.bin", work / "d.sock"
    socat("-u", f"UNIX-RECV:{path}", f"CREATE:{out}")
    wait_until(path.exists, "socat to bind its path")
    sid = new_socket(engine, family="unix", type_="dgram")
    grams = [b"\x00\xff", SMALL, b"\xff" * 1000]
    for gram in grams:
        ok(engine.call("sendto", sid, data=gram, address=f"unix:{path}"))
    want = b"".join(grams)
    wait_until(lambda: out.exists() and out.stat().st_size >= len(want), "socat's file")
    assert out.read_bytes() == want


def test_unix_dgram_socat_to_workbench(engine: Engine, socat: Callable[..., Socat], work: Path
                                       ) -> None:
    source, path = work / "send.bin", work / "wb.sock"
    data = SMALL * 3
    source.write_bytes(data)
    sid = new_socket(engine, family="unix", type_="dgram")
    ok(engine.call("bind", sid, address=f"unix:{path}"))
    peer = socat("-u", "-b", "400", f"OPEN:{source},rdonly", f"UNIX-SENDTO:{path}")
    assert peer.finish() == 0
    wait_until(lambda: recorded_bytes(engine, sid, "recvfrom") >= len(data), "every datagram")
    grams = [s.data for s in steps_of(engine, sid, "recvfrom")]
    assert grams == [data[i:i + 400] for i in range(0, len(data), 400)]


# -- a peer that resets the connection ----------------------------------------------------


def test_socat_reset_is_recorded_as_econnreset(engine: Engine, socat: Callable[..., Socat],
                                               work: Path) -> None:
    source = work / "send.bin"
    source.write_bytes(SMALL)
    # socat sends the file and keeps the connection open (ignoreeof); with SO_LINGER
    # {1, 0} (linger=0) the kernel answers its death with RST instead of FIN.
    peer = socat("-u", f"OPEN:{source},rdonly,ignoreeof", "TCP-LISTEN:0,bind=127.0.0.1,linger=0")
    port = peer.wait_for(r"listening on AF=2 127\.0\.0\.1:(\d+)").group(1)
    sid = new_socket(engine)
    ok(engine.call("connect", sid, address=f"127.0.0.1:{port}"))
    wait_until(lambda: engine.capture(sid).totals[IN] == len(SMALL), "socat's bytes")
    peer.stop()
    wait_until(lambda: engine.socket_info(sid).state == "reset", "the reset")
    recvs = steps_of(engine, sid, "recv")
    assert all(s.auto for s in recvs)
    assert b"".join(s.data for s in recvs if s.ok) == SMALL
    last = recvs[-1]
    assert last.error is not None and last.error.name == "ECONNRESET"
    assert not any(s.ok and s.result and s.result.get("eof") for s in recvs)
    step = engine.call("send", sid, data=b"after the reset")
    assert step.error is not None and step.error.name in ("EPIPE", "ECONNRESET")
