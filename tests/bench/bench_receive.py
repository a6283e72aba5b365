"""Receive benchmark: a 2 GiB stream into the workbench, against nc and socat.

Run `python tests/bench/bench_receive.py [--mib 2048]`. One sender process (a plain
`sendall` loop) feeds each receiver in turn, in the same run:
- `nc -d -l` writing to /dev/null, and `socat -b 262144` writing to /dev/null;
- the engine alone, auto-receive and capture on (bytes kept in the capture store);
- the whole app (headless, Pilot) with the socket selected in the data pane, while a
  key is pressed every 50 ms to time key press to handler;
and prints throughput, key latency and peak RSS side by side. Not a test: nothing
here fails on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from _table import print_table, ratio

SENDER = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
buf = memoryview(bytes(range(256)) * 4096)
left = int(sys.argv[3])
while left:
    n = min(len(buf), left)
    s.sendall(buf[:n])
    left -= n
s.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(port: int, total: int) -> float:
    """Run the sender to completion; the seconds it took."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", SENDER, "127.0.0.1", str(port), str(total)],
                   check=True, timeout=300)
    return time.perf_counter() - started


def tool_receiver(argv: list[str], port: int, total: int) -> float | None:
    """Throughput (bytes/s) of an external receiver writing to /dev/null."""
    if shutil.which(argv[0]) is None:
        return None
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # let it listen
        started = time.perf_counter()
        send(port, total)
        proc.wait(timeout=300)  # it exits when the sender closes
        return total / (time.perf_counter() - started)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)


def engine_receiver(total: int) -> tuple[float, float]:
    """Throughput of the engine with auto-receive and capture; peak RSS in MiB."""
    from workbench.io.engine import Engine

    engine = Engine()
    try:
        listener = engine.call("socket").result["sock"]
        engine.call("bind", listener, address="127.0.0.1:0")
        engine.call("listen", listener, backlog=4)
        port = int(engine.socket_info(listener).local.rsplit(":", 1)[1])
        started = time.perf_counter()
        send(port, total)
        wait_for(lambda: received(engine, listener) >= total)
        return total / (time.perf_counter() - started), peak_rss_mib()
    finally:
        engine.shutdown()


def received(engine: object, listener: int) -> int:
    return sum(i.bytes_in for i in engine.sockets() if i.parent == listener)  # type: ignore[attr-defined]


def wait_for(check: object, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def app_receiver(total: int) -> tuple[float, list[float], float]:
    """Throughput with the app running, key press to handler latencies, peak RSS."""
    from textual.binding import Binding

    from workbench.ui.app import WorkbenchApp

    handled: list[float] = []

    class TimedApp(WorkbenchApp):
        BINDINGS = [*WorkbenchApp.BINDINGS, Binding("f12", "bench_tick", id="bench.tick")]

        def action_bench_tick(self) -> None:
            handled.append(time.perf_counter())

    app = TimedApp(journal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        engine = app.main.ws.engine
        listener = engine.call("socket").result["sock"]
        engine.call("bind", listener, address="127.0.0.1:0")
        engine.call("listen", listener, backlog=4)
        port = int(engine.socket_info(listener).local.rsplit(":", 1)[1])
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        sender = loop.run_in_executor(None, send, port, total)
        latencies: list[float] = []
        while received(engine, listener) < total and time.perf_counter() - started < 300:
            pressed = time.perf_counter()
            before = len(handled)
            app.simulate_key("f12")  # as a terminal's key would arrive
            while len(handled) == before and time.perf_counter() - pressed < 5:
                await asyncio.sleep(0.001)
            if len(handled) > before:
                latencies.append(handled[-1] - pressed)
            await asyncio.sleep(0.05)
        rate = total / (time.perf_counter() - started)
        await sender
    return rate, latencies, peak_rss_mib()


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    return sorted(values)[min(len(values) - 1, math.ceil(len(values) * 0.99) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=2048, help="stream size (default 2048)")
    total = parser.parse_args().mib << 20
    gb = 1e9
    port = free_port()
    nc = tool_receiver(["nc", "-d", "-l", "127.0.0.1", str(port)], port, total)
    port = free_port()
    socat = tool_receiver(["socat", "-u", "-b", "262144",
                           f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "/dev/null"],
                          port, total)
    engine_rate, engine_rss = engine_receiver(total)
    app_rate, latencies, app_rss = asyncio.run(app_receiver(total))
    rows = []
    for label, rate in (("engine alone", engine_rate), ("app running", app_rate)):
        for peer_name, peer in (("nc", nc), ("socat", socat)):
            if peer:
                rows.append((f"receive {total >> 20} MiB, {label}", f"{rate / gb:.2f} GB/s",
                             f"{peer_name}: {peer / gb:.2f} GB/s", ratio(rate, peer)))
    ms = [v * 1000 for v in latencies]
    rows.append(("key press to handler, median", f"{statistics.median(ms):.1f} ms",
                 "target < 100 ms p99", ""))
    rows.append(("key press to handler, p99", f"{p99(ms):.1f} ms", "target < 100 ms", ""))
    rows.append(("peak RSS, engine alone", f"{engine_rss:.0f} MiB", "target < 300 MiB", ""))
    rows.append(("peak RSS, app running", f"{app_rss:.0f} MiB", "target < 300 MiB", ""))
    print(f"receive benchmark: {total >> 20} MiB over loopback TCP, {os.cpu_count()} CPUs, "
          f"capture spill in {tempfile.gettempdir()}, {len(ms)} key presses")
    print_table(rows)


if __name__ == "__main__":
    main()
