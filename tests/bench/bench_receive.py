"""Receive benchmark: a 2 GiB stream into the workbench, against nc and socat.

Run `python tests/bench/bench_receive.py [--mib 2048] [--rounds 3]`. One sender
process (a plain `sendall` loop) feeds each receiver in turn. Single runs on a busy
machine vary by 2x, so the receivers run interleaved in rounds, each round in this
order:
- `nc -d -l` writing to /dev/null, and `socat -b 262144` writing to /dev/null;
- the engine alone as the app makes it (its ring readied at the first socket),
  auto-receive and capture on, capture keeping up (a drain that storage cannot keep
  is dropped and counted, the stream is never slowed);
- the engine alone with a lossless capture (appends wait for storage);
- the whole app (headless, Pilot, its own engine, capture keeping up with no budget so
  the share kept measures storage) with the receiving socket selected once the socket
  tree shows it and its hex view following the tail, as a user watching a flood has
  it, while a key is pressed every 50 ms to time key press to handler;
- the app again, its hex view showing one socket while a second receives a flood of
  100,000 UDP datagrams (64 bytes each, sent as fast as one process can), against
  `socat -u UDP-RECV` writing to a file: datagrams received, their rate, key latency.
Each engine and app run is its own Python process, so peak RSS is that run's alone
and nothing lingers into the next; between runs the machine gets a sync and a second
to settle. The table gives the median rate of each receiver over the rounds with the
min-max range, ratios of medians, how much of the stream each capture kept, key
latency over every round's presses, and the highest peak RSS of the rounds. Not a
test: nothing here fails on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from _table import print_table, ratio

SENDER = """
import socket, sys, time
deadline = time.monotonic() + 10
while True:  # the receiver may still be starting to listen
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
        break
    except ConnectionRefusedError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.01)
buf = memoryview(bytes(range(256)) * 4096)
left = int(sys.argv[3])
while left:
    n = min(len(buf), left)
    s.sendall(buf[:n])
    left -= n
s.close()
"""

UDP_SENDER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
address, payload = (sys.argv[1], int(sys.argv[2])), bytes(range(int(sys.argv[4])))
for _ in range(int(sys.argv[3])):
    s.sendto(payload, address)
"""

RUN_TIMEOUT = 300.0  # seconds one receiver may take, sender included
# Between a receiver's listen and the flood, every receiver alike: socat needs it to
# start, and a user's socket is never flooded the moment it is made (the engine makes
# its ring ready meanwhile, as it does at a session's first socket).
LISTENING = 0.3
RESULT = "RESULT "  # a child run's last stdout line: this, then JSON
GB = 1e9
ENGINE_KINDS = ("engine alone", "engine alone lossless", "app running")
UDP_KIND = "app, UDP flood on another socket"
UDP_COUNT, UDP_SIZE = 100_000, 64
UDP_QUIET = 1.0  # seconds without a new datagram that end a UDP run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(port: int, total: int) -> float:
    """Run the sender to completion (killed past RUN_TIMEOUT); the seconds it took."""
    started = time.perf_counter()
    sender = subprocess.Popen([sys.executable, "-c", SENDER, "127.0.0.1", str(port),
                               str(total)])
    if finish(sender) != 0:
        raise RuntimeError(f"the sender exited with status {sender.returncode}")
    return time.perf_counter() - started


def finish(proc: subprocess.Popen[Any]) -> int:
    """Wait for `proc` to exit, killed past RUN_TIMEOUT. A blocking wait sees the exit at
    once; subprocess's waits with a timeout poll, up to 50 ms late, which is a tenth of
    a 2 GiB run at socat's rate."""
    watchdog = threading.Timer(RUN_TIMEOUT, proc.kill)
    watchdog.start()
    try:
        return proc.wait()
    finally:
        watchdog.cancel()


def settle() -> None:
    """Let dirty pages of the previous run reach the disk so they do not throttle the next."""
    os.sync()
    time.sleep(1.0)


def tool_receiver(argv: list[str], port: int, total: int) -> float:
    """Throughput (bytes/s) of an external receiver writing to /dev/null."""
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
    try:
        time.sleep(LISTENING)  # let it listen (the sender retries if it is not yet)
        started = time.perf_counter()
        send(port, total)
        code = finish(proc)  # it exits when the sender closes
        rate = total / (time.perf_counter() - started)
        if code != 0:
            raise RuntimeError(f"{argv[0]} exited with status {code}")
        return rate
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def listen(engine: Any) -> tuple[int, int]:
    """A listening socket on the engine: (its id, its port)."""
    listener = engine.call("socket").result["sock"]
    engine.call("bind", listener, address="127.0.0.1:0")
    engine.call("listen", listener, backlog=4)
    return listener, int(engine.socket_info(listener).local.rsplit(":", 1)[1])


class Received:
    """Bytes the listener's accepted sockets received, read off their capture counters:
    no lock and no socket listing per poll, so polling does not slow the receiver."""

    def __init__(self, engine: Any, listener: int) -> None:
        self.engine, self.listener = engine, listener
        self.accepted: list[int] = []

    def __call__(self) -> int:
        from workbench.io.capture import IN

        if not self.accepted:
            self.accepted = [i.id for i in self.engine.sockets() if i.parent == self.listener]
        return sum(self.engine.capture(sid).totals[IN] for sid in self.accepted)


def capture_kept(engine: Any, listener: int) -> tuple[float, bool]:
    """The share of the received stream the capture kept, once storage has caught up;
    and whether it did catch up (flush in time)."""
    from workbench.io.capture import IN

    flushed = engine.log.flush()
    accepted = [i for i in engine.sockets() if i.parent == listener]
    total = sum(i.bytes_in for i in accepted)
    lost = sum(engine.capture(i.id).lost[IN] for i in accepted)
    return ((total - lost) / total if total else float("nan")), flushed


def wait_for(check: Any, timeout: float = RUN_TIMEOUT, every: float = 0.002) -> bool:
    """Poll `check` every 2 ms: a coarser poll would add to the measured time, a finer
    one would take the receiving thread's CPU."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(every)
    return bool(check())


class DoneAt:
    """A thread noting when `check` first holds (to 2 ms), while the caller
    goes on pressing keys at its own pace."""

    def __init__(self, check: Any) -> None:
        self.at: float | None = None
        self._thread = threading.Thread(target=self._watch, args=(check,), daemon=True)
        self._thread.start()

    def _watch(self, check: Any) -> None:
        if wait_for(check):
            self.at = time.perf_counter()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_receiver(total: int, lossless: bool) -> dict[str, Any]:
    """Throughput of the engine with auto-receive and capture; share kept; peak RSS."""
    from workbench.io.capture import ByteLog
    from workbench.io.engine import Engine

    engine = Engine(log=ByteLog(lossless=lossless), ready_ring=True)  # as the app's
    try:
        listener, port = listen(engine)
        time.sleep(LISTENING)
        received = Received(engine, listener)
        started = time.perf_counter()
        send(port, total)
        if not wait_for(lambda: received() >= total):
            raise RuntimeError(f"engine received {received()} of {total} bytes")
        rate = total / (time.perf_counter() - started)
        kept, flushed = capture_kept(engine, listener)
        return {"rate": rate, "kept": kept, "flushed": flushed, "rss": peak_rss_mib()}
    finally:
        engine.shutdown()
        engine.log.close()


async def app_receiver(total: int) -> dict[str, Any]:
    """Throughput with the app running and the receiving socket shown, share kept, key
    press to handler latencies, peak RSS."""
    app, handled = timed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        engine = app.main.ws.engine
        listener, port = listen(engine)
        await pilot.pause(LISTENING)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        sender = loop.run_in_executor(None, send, port, total)
        latencies: list[float] = []
        received = Received(engine, listener)
        shown = False
        done = DoneAt(lambda: received() >= total)
        while done.at is None and time.perf_counter() - started < RUN_TIMEOUT:
            if not shown and received.accepted and in_tree(app, received.accepted[0]):
                shown = show_followed(app, received.accepted[0])  # as a user would
            await press_key(app, handled, latencies)
        got = received()
        rate = total / ((done.at or time.perf_counter()) - started)
        await sender
        if got < total:
            raise RuntimeError(f"app received {got} of {total} bytes")
        kept, flushed = await loop.run_in_executor(None, capture_kept, engine, listener)
    if not shown:
        raise RuntimeError("the receiving socket was never shown")
    return {"rate": rate, "kept": kept, "flushed": flushed, "latencies": latencies,
            "rss": peak_rss_mib()}


def timed_app() -> tuple[Any, list[float]]:
    """The app with a key (f12) whose handler notes when it ran."""
    from textual.binding import Binding

    from workbench.ui.app import WorkbenchApp

    handled: list[float] = []

    class TimedApp(WorkbenchApp):
        BINDINGS = [*WorkbenchApp.BINDINGS, Binding("f12", "bench_tick", id="bench.tick")]

        def action_bench_tick(self) -> None:
            handled.append(time.perf_counter())

    return TimedApp(journal=False, capture_budget=None), handled


async def press_key(app: Any, handled: list[float], latencies: list[float]) -> None:
    """Press f12 as a terminal's key would arrive; note how long until its handler ran."""
    pressed = time.perf_counter()
    before = len(handled)
    app.simulate_key("f12")
    while len(handled) == before and time.perf_counter() - pressed < 5:
        await asyncio.sleep(0.001)
    if len(handled) > before:
        latencies.append(handled[-1] - pressed)
    await asyncio.sleep(0.05)


def in_tree(app: Any, sock: int) -> bool:
    """Whether the socket tree shows `sock` yet: a user selects what they can see (the
    engine has the accepted socket a drain before the screen does)."""
    from workbench.ui.widgets.socket_tree import SocketTree

    return bool(app.main.query_one(SocketTree).has(sock))


def show_followed(app: Any, sock: int) -> bool:
    """Select `sock`: the header names it and the hex view shows it, following the tail."""
    from workbench.ui.widgets.hex_view import HexView

    app.main.select(sock)
    view = app.main.query_one(HexView)
    if app.main.selected != sock or view.capture is not app.main.ws.capture(sock):
        raise RuntimeError(f"socket #{sock} is not the one shown")
    view.following = True
    return True


async def app_udp_flood(count: int) -> dict[str, Any]:
    """The app showing one socket while another receives `count` datagrams: how many
    arrive and how fast, key latency, peak RSS."""
    from workbench.io.capture import IN

    app, handled = timed_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        ws = app.main.ws
        shown, flooded = (ws.call("socket", type="dgram").result["sock"] for _ in range(2))
        for sid in (shown, flooded):
            ws.call("bind", sid, address="127.0.0.1:0")
        ws.call("sendto", flooded, data=b"something to show", address=f"sock:{shown}")
        await pilot.pause(0.2)
        show_followed(app, shown)
        port = int(ws.socket_info(flooded).local.rsplit(":", 1)[1])
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        sender = loop.run_in_executor(None, lambda: subprocess.run(
            [sys.executable, "-c", UDP_SENDER, "127.0.0.1", str(port), str(count),
             str(UDP_SIZE)], check=True, timeout=RUN_TIMEOUT))
        latencies: list[float] = []
        capture = ws.capture(flooded)
        got, last = 0, started
        while time.perf_counter() - last < UDP_QUIET and got < count * UDP_SIZE:
            await press_key(app, handled, latencies)
            if capture.totals[IN] > got:
                got, last = capture.totals[IN], time.perf_counter()
        await sender
    return {"rate": got / UDP_SIZE / max(last - started, 1e-9), "got": got // UDP_SIZE,
            "latencies": latencies, "rss": peak_rss_mib(), "flushed": True, "kept": 1.0}


def socat_udp(count: int) -> tuple[float, int]:
    """socat receiving the same datagrams into a file: (datagrams/s, datagrams got)."""
    port = free_port_udp()
    with tempfile.NamedTemporaryFile() as out:
        proc = subprocess.Popen(["socat", "-u", f"UDP-RECV:{port},bind=127.0.0.1",
                                 f"OPEN:{out.name},append"], stderr=subprocess.DEVNULL)
        try:
            if not wait_for(lambda: udp_bound(port), 10.0):
                raise RuntimeError(f"socat did not bind UDP port {port}")
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", UDP_SENDER, "127.0.0.1", str(port),
                            str(count), str(UDP_SIZE)], check=True, timeout=RUN_TIMEOUT)
            got, last = 0, started
            while time.perf_counter() - last < UDP_QUIET and got < count * UDP_SIZE:
                size = os.path.getsize(out.name)
                if size > got:
                    got, last = size, time.perf_counter()
                time.sleep(0.01)
        finally:
            proc.kill()
            proc.wait(5)
    return got / UDP_SIZE / max(last - started, 1e-9), got // UDP_SIZE


def udp_bound(port: int) -> bool:
    """Some UDP socket of this machine is bound to `port` (read from /proc, not by
    binding it: a probe would hold the port the moment socat binds it)."""
    try:
        with open("/proc/net/udp") as table:
            rows = table.read().splitlines()[1:]
    except OSError:
        time.sleep(0.3)  # no /proc: give it time to bind
        return True
    return any(int(row.split()[1].rsplit(":", 1)[1], 16) == port for row in rows)


def free_port_udp() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child(kind: str, total: int) -> None:
    """One engine or app run in this process; its result as the last stdout line."""
    if kind == "app running":
        result = asyncio.run(app_receiver(total))
    elif kind == UDP_KIND:
        result = asyncio.run(app_udp_flood(UDP_COUNT))
    else:
        result = engine_receiver(total, lossless=kind == "engine alone lossless")
    print(RESULT + json.dumps(result), flush=True)


def run_child(kind: str, total: int) -> dict[str, Any]:
    """Run `child` in a fresh Python process (its own session, killed by id past the
    timeout, the sender with it)."""
    argv = [sys.executable, os.path.abspath(__file__), "--child", kind, "--mib",
            str(total >> 20)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT + 60)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # the group may have ended
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    lines = [line for line in out.splitlines() if line.startswith(RESULT)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} run failed (status {proc.returncode}):\n{err[-2000:]}")
    result = json.loads(lines[-1][len(RESULT):])
    if not result["flushed"]:
        print(f"warning: {kind}: capture storage did not catch up in time", file=sys.stderr)
    return result


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    return sorted(values)[min(len(values) - 1, math.ceil(len(values) * 0.99) - 1)]


def spread(values: list[float], scale: float, fmt: str, unit: str) -> str:
    """"median unit (min-max)", e.g. "3.10 GB/s (2.20-4.60)"; no range when all agree."""
    med, low, high = (format(v / scale, fmt) for v in
                      (statistics.median(values), min(values), max(values)))
    return f"{med} {unit}" + ("" if low == high else f" ({low}-{high})")


def nc(port: int) -> list[str]:
    return ["nc", "-d", "-l", "127.0.0.1", str(port)]


def socat(port: int) -> list[str]:
    return ["socat", "-u", "-b", "262144",
            f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "/dev/null"]


class Results:
    """Every round's figures, by receiver."""

    def __init__(self, tools: list[str]) -> None:
        kinds = [*ENGINE_KINDS, UDP_KIND]
        self.rates: dict[str, list[float]] = {name: [] for name in [*tools, *kinds, "socat udp"]}
        self.kept: dict[str, list[float]] = {kind: [] for kind in ENGINE_KINDS}
        self.rss: dict[str, list[float]] = {kind: [] for kind in kinds}
        self.latencies: dict[str, list[float]] = {"app running": [], UDP_KIND: []}
        self.datagrams: dict[str, list[float]] = {UDP_KIND: [], "socat udp": []}

    def add(self, kind: str, result: dict[str, Any]) -> None:
        self.rates[kind].append(result["rate"])
        self.rss[kind].append(result["rss"])
        if kind in self.kept:
            self.kept[kind].append(result["kept"])
        if kind in self.latencies:
            self.latencies[kind] += result["latencies"]
        if kind in self.datagrams:
            self.datagrams[kind].append(result["got"])


def run_round(n: int, rounds: int, tools: dict[str, Any], total: int, out: Results) -> None:
    def say(text: str) -> None:
        print(f"round {n}/{rounds}: {text}", file=sys.stderr, flush=True)

    for name, argv in tools.items():
        settle()
        port = free_port()
        out.rates[name].append(tool_receiver(argv(port), port, total))
        say(f"{name} {out.rates[name][-1] / GB:.2f} GB/s")
    for kind in ENGINE_KINDS:
        settle()
        out.add(kind, run_child(kind, total))
        say(f"{kind} {out.rates[kind][-1] / GB:.2f} GB/s, capture kept {out.kept[kind][-1]:.1%}")
    if shutil.which("socat"):
        settle()
        rate, got = socat_udp(UDP_COUNT)
        out.rates["socat udp"].append(rate)
        out.datagrams["socat udp"].append(got)
        say(f"socat udp {got} datagrams, {rate:,.0f}/s")
    settle()
    out.add(UDP_KIND, run_child(UDP_KIND, 0))
    say(f"{UDP_KIND} {out.datagrams[UDP_KIND][-1]:.0f} datagrams, "
        f"{out.rates[UDP_KIND][-1]:,.0f}/s")


def table(out: Results, tools: list[str], mib: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for kind in ENGINE_KINDS:
        mine = spread(out.rates[kind], GB, ".2f", "GB/s")
        for name in tools:
            rows.append((f"receive {mib} MiB, {kind}", mine,
                         f"{name}: {spread(out.rates[name], GB, '.2f', 'GB/s')}",
                         ratio(statistics.median(out.rates[kind]),
                               statistics.median(out.rates[name]))))
        if not tools:
            rows.append((f"receive {mib} MiB, {kind}", mine, "no nc or socat", ""))
    udp, theirs = out.rates[UDP_KIND], out.rates["socat udp"]
    rows.append((f"{UDP_COUNT:,} datagrams, {UDP_KIND}", spread(udp, 1e3, ".0f", "k/s"),
                 f"socat: {spread(theirs, 1e3, '.0f', 'k/s')}" if theirs else "no socat",
                 ratio(statistics.median(udp), statistics.median(theirs)) if theirs else ""))
    got = out.datagrams[UDP_KIND]
    rows.append((f"datagrams received, {UDP_KIND}", spread(got, 1, ".0f", ""),
                 f"socat: {spread(out.datagrams['socat udp'], 1, '.0f', '')}" if theirs else "",
                 ""))
    for kind in ENGINE_KINDS:
        rows.append((f"capture kept, {kind}", spread(out.kept[kind], 0.01, ".1f", "%"), "", ""))
    for kind, values in out.latencies.items():
        ms = [v * 1000 for v in values]
        rows.append((f"key press to handler, {kind}, median",
                     f"{statistics.median(ms):.1f} ms" if ms else "n/a", "", ""))
        rows.append((f"key press to handler, {kind}, p99", f"{p99(ms):.1f} ms",
                     "target < 50 ms", ""))
    for kind, values in out.rss.items():
        rows.append((f"peak RSS, {kind}", f"{max(values):.0f} MiB", "target < 200 MiB", ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=2048, help="stream size (default 2048)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every receiver, reported as medians (default 3)")
    parser.add_argument("--child", choices=[*ENGINE_KINDS, UDP_KIND], help=argparse.SUPPRESS)
    args = parser.parse_args()
    total = args.mib << 20
    if args.child:
        child(args.child, total)
        return
    rounds = max(1, args.rounds)
    tools = {name: argv for name, argv in (("nc", nc), ("socat", socat))
             if shutil.which(name) is not None}
    out = Results(list(tools))
    for n in range(1, rounds + 1):
        run_round(n, rounds, tools, total, out)
    presses = sum(len(v) for v in out.latencies.values())
    print(f"receive benchmark: {args.mib} MiB over loopback TCP and {UDP_COUNT:,} UDP "
          f"datagrams of {UDP_SIZE} bytes, {rounds} rounds, {os.cpu_count()} CPUs, capture "
          f"spill in {tempfile.gettempdir()}, {presses} key presses")
    print("rates and shares kept: median of the rounds (min-max); ratios: median / median; "
          "peak RSS: highest of the rounds")
    print_table(table(out, list(tools), args.mib))


if __name__ == "__main__":
    main()
