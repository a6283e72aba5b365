"""Helpers shared by the test suites: bounded waits, IPv6 detection, process clean-up,
and the kernel's view of loopback sockets (read from /proc: nothing sent, nothing read)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from workbench.core.steps import Step
from workbench.io.engine import EngineEvent, SocketChanged, StepDone

TIMEOUT = 5.0


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6 = ipv6_loopback()


def wait_until(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    """Poll until predicate is true; fail the test naming what never happened."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def stop_process(proc: subprocess.Popen, timeout: float = TIMEOUT) -> None:
    """Kill a process a test started (by its pid) and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


# -- the kernel's view of IPv4 sockets, from /proc/net ------------------------------------

TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING"}


@dataclass(frozen=True)
class KernelSocket:
    """One line of /proc/net/tcp or /proc/net/udp."""

    local: tuple[str, int]
    remote: tuple[str, int]
    state: str
    rx_queue: int  # bytes nobody has read yet; for a listener, connections awaiting accept()
    inode: int


def _address(field: str) -> tuple[str, int]:
    host, port = field.split(":")
    return socket.inet_ntoa(bytes.fromhex(host)[::-1]), int(port, 16)


def kernel_sockets(proto: str = "tcp") -> list[KernelSocket]:
    """The IPv4 sockets of this network namespace, as /proc/net/<proto> lists them.

    A TCP socket the kernel has closed (e.g. after a reset) is no longer listed."""
    found = []
    with open(f"/proc/net/{proto}") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            found.append(KernelSocket(
                _address(fields[1]), _address(fields[2]),
                TCP_STATES.get(int(fields[3], 16), fields[3]) if proto == "tcp" else fields[3],
                int(fields[4].split(":")[1], 16), int(fields[9])))
    return found


def _pair(address: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(address, str):  # the engine's "127.0.0.1:40123"
        host, port = address.rsplit(":", 1)
        return host, int(port)
    return address[0], int(address[1])


def tcp_connection(local: str | tuple[str, int], remote: str | tuple[str, int]
                   ) -> KernelSocket | None:
    """The TCP socket with this local and remote address, if the kernel still lists it."""
    want = (_pair(local), _pair(remote))
    return next((k for k in kernel_sockets() if (k.local, k.remote) == want), None)


def accept_queue(port: int) -> int | None:
    """How many connections wait for accept() on the TCP listener of `port` (None: none)."""
    return next((k.rx_queue for k in kernel_sockets()
                 if k.state == "LISTEN" and k.local[1] == port), None)


def listening(port: int) -> bool:
    """Whether something listens on TCP 127.0.0.1:port (no connection made)."""
    return any(k.state == "LISTEN" and k.local == ("127.0.0.1", port) for k in kernel_sockets())


def bound_ports(pid: int, proto: str = "tcp") -> list[int]:
    """The local ports of process `pid`'s IPv4 sockets (for TCP, its listening ones).

    For a peer process told to bind port 0: the port the kernel gave it, while it holds it."""
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # the process is gone
        return []
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if link.startswith("socket:["):
            inodes.add(int(link[len("socket:["):-1]))
    return [k.local[1] for k in kernel_sockets(proto)
            if k.inode in inodes and (proto != "tcp" or k.state == "LISTEN")]


def bound_port(proc: subprocess.Popen, proto: str = "tcp") -> int:
    """The port a peer process told to bind port 0 got, once it has it (it keeps it)."""
    ports: list[int] = []

    def bound() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"{proc.args!r} exited with {proc.returncode} before binding")
        ports[:] = bound_ports(proc.pid, proto)
        return bool(ports)

    wait_until(bound, f"pid {proc.pid} to bind a {proto} port")
    assert len(ports) == 1, f"pid {proc.pid} holds {proto} ports {ports}"
    return ports[0]


class Recorder:
    """An engine subscriber keeping every event, as the UI would receive them."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: EngineEvent) -> None:
        with self._lock:
            self.events.append(event)

    def snapshot(self) -> list[EngineEvent]:
        with self._lock:
            return list(self.events)

    def of(self, kind: type) -> list[EngineEvent]:
        return [e for e in self.snapshot() if isinstance(e, kind)]

    def step_seqs(self) -> list[int]:
        return [e.step.seq for e in self.snapshot() if isinstance(e, StepDone)]

    def settled_after(self, seq: int) -> bool:
        """It has the StepDone of step `seq` and the SocketChanged its actor sends after."""
        events = self.snapshot()
        done = [i for i, e in enumerate(events) if isinstance(e, StepDone) and e.step.seq == seq]
        return bool(done) and any(isinstance(e, SocketChanged) for e in events[done[0] + 1:])


def threads_end() -> None:
    """Wait until every socket actor thread of every engine has ended."""
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("socket-")],
               "the engine's socket threads to end", 3.0)


def ok(step: Step) -> Step:
    """The step, asserted to have succeeded (the message names the call and its errno)."""
    assert step.ok, f"{step.describe()} -> {step.error}"
    return step


def mapping_lines(start: int) -> list[str]:
    """The /proc/self/smaps lines of the mapping holding address `start` (its range
    first, then Rss:, THPeligible: and the rest); [] when none does."""
    lines: list[str] = []
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if "-" in head and all(c in "0123456789abcdef-" for c in head):
                if lines:
                    break
                low, high = (int(x, 16) for x in head.split("-"))
                if low <= start < high:
                    lines.append(line.rstrip("\n"))
            elif lines:
                lines.append(line.rstrip("\n"))
    return lines
