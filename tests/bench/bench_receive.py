"""Receive benchmark: a 2 GiB stream into the workbench, against nc and socat.

Run `python tests/bench/bench_receive.py [--mib 2048] [--rounds 3]`. One sender
process (a plain `sendall` loop) feeds each receiver in turn. Single runs on a busy
machine vary by 2x, so the receivers run interleaved in rounds, each round in this
order:
- `nc -d -l` writing to /dev/null, and `socat -b 262144` writing to /dev/null;
- the engine alone, auto-receive and capture on, capture keeping up (a drain that
  storage cannot keep is dropped and counted, the stream is never slowed);
- the engine alone with a lossless capture (appends wait for storage);
- the whole app (headless, Pilot, its own engine with the default capture) with the
  listening socket selected in the data pane (the accepted one is not: its bytes are
  not drawn), while a key is pressed every 50 ms to time key press to handler.
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

RUN_TIMEOUT = 300.0  # seconds one receiver may take, sender included
RESULT = "RESULT "  # a child run's last stdout line: this, then JSON
GB = 1e9
ENGINE_KINDS = ("engine alone", "engine alone lossless", "app running")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(port: int, total: int) -> float:
    """Run the sender to completion (killed past RUN_TIMEOUT); the seconds it took."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", SENDER, "127.0.0.1", str(port), str(total)],
                   check=True, timeout=RUN_TIMEOUT)
    return time.perf_counter() - started


def settle() -> None:
    """Let dirty pages of the previous run reach the disk so they do not throttle the next."""
    os.sync()
    time.sleep(1.0)


def tool_receiver(argv: list[str], port: int, total: int) -> float:
    """Throughput (bytes/s) of an external receiver writing to /dev/null."""
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # let it listen (the sender retries if it is not yet)
        started = time.perf_counter()
        send(port, total)
        code = proc.wait(timeout=RUN_TIMEOUT)  # it exits when the sender closes
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


def wait_for(check: Any, timeout: float = RUN_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(check())


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_receiver(total: int, lossless: bool) -> dict[str, Any]:
    """Throughput of the engine with auto-receive and capture; share kept; peak RSS."""
    from workbench.io.capture import ByteLog
    from workbench.io.engine import Engine

    engine = Engine(log=ByteLog(lossless=lossless))
    try:
        listener, port = listen(engine)
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
    """Throughput with the app running, share kept, key press to handler latencies,
    peak RSS."""
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
        listener, port = listen(engine)
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        sender = loop.run_in_executor(None, send, port, total)
        latencies: list[float] = []
        received = Received(engine, listener)
        while received() < total and time.perf_counter() - started < RUN_TIMEOUT:
            pressed = time.perf_counter()
            before = len(handled)
            app.simulate_key("f12")  # as a terminal's key would arrive
            while len(handled) == before and time.perf_counter() - pressed < 5:
                await asyncio.sleep(0.001)
            if len(handled) > before:
                latencies.append(handled[-1] - pressed)
            await asyncio.sleep(0.05)
        got = received()
        rate = total / (time.perf_counter() - started)
        await sender
        if got < total:
            raise RuntimeError(f"app received {got} of {total} bytes")
        kept, flushed = await loop.run_in_executor(None, capture_kept, engine, listener)
    return {"rate": rate, "kept": kept, "flushed": flushed, "latencies": latencies,
            "rss": peak_rss_mib()}


def child(kind: str, total: int) -> None:
    """One engine or app run in this process; its result as the last stdout line."""
    if kind == "app running":
        result = asyncio.run(app_receiver(total))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=2048, help="stream size (default 2048)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every receiver, reported as medians (default 3)")
    parser.add_argument("--child", choices=ENGINE_KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    total = args.mib << 20
    if args.child:
        child(args.child, total)
        return
    rounds = max(1, args.rounds)

    def nc(port: int) -> list[str]:
        return ["nc", "-d", "-l", "127.0.0.1", str(port)]

    def socat(port: int) -> list[str]:
        return ["socat", "-u", "-b", "262144",
                f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr", "/dev/null"]

    tools = {name: argv for name, argv in (("nc", nc), ("socat", socat))
             if shutil.which(name) is not None}
    rates: dict[str, list[float]] = {name: [] for name in [*tools, *ENGINE_KINDS]}
    kept: dict[str, list[float]] = {kind: [] for kind in ENGINE_KINDS}
    rss: dict[str, list[float]] = {kind: [] for kind in ENGINE_KINDS}
    latencies: list[float] = []
    for n in range(1, rounds + 1):
        for name, argv in tools.items():
            settle()
            port = free_port()
            rates[name].append(tool_receiver(argv(port), port, total))
            print(f"round {n}/{rounds}: {name} {rates[name][-1] / GB:.2f} GB/s",
                  file=sys.stderr, flush=True)
        for kind in ENGINE_KINDS:
            settle()
            result = run_child(kind, total)
            rates[kind].append(result["rate"])
            kept[kind].append(result["kept"])
            rss[kind].append(result["rss"])
            latencies += result.get("latencies", [])
            print(f"round {n}/{rounds}: {kind} {result['rate'] / GB:.2f} GB/s, "
                  f"capture kept {result['kept']:.1%}", file=sys.stderr, flush=True)

    rows = []
    for kind in ENGINE_KINDS:
        for name in tools:
            rows.append((f"receive {args.mib} MiB, {kind}", spread(rates[kind], GB, ".2f", "GB/s"),
                         f"{name}: {spread(rates[name], GB, '.2f', 'GB/s')}",
                         ratio(statistics.median(rates[kind]), statistics.median(rates[name]))))
        if not tools:
            rows.append((f"receive {args.mib} MiB, {kind}", spread(rates[kind], GB, ".2f", "GB/s"),
                         "no nc or socat", ""))
    for kind in ENGINE_KINDS:
        rows.append((f"capture kept, {kind}", spread(kept[kind], 0.01, ".1f", "%"), "", ""))
    ms = [v * 1000 for v in latencies]
    rows.append(("key press to handler, median",
                 f"{statistics.median(ms):.1f} ms" if ms else "n/a", "target < 100 ms p99", ""))
    rows.append(("key press to handler, p99", f"{p99(ms):.1f} ms", "target < 100 ms", ""))
    for kind in ENGINE_KINDS:
        rows.append((f"peak RSS, {kind}", f"{max(rss[kind]):.0f} MiB", "target < 300 MiB", ""))
    print(f"receive benchmark: {args.mib} MiB over loopback TCP, {rounds} rounds, "
          f"{os.cpu_count()} CPUs, capture spill in {tempfile.gettempdir()}, "
          f"{len(ms)} key presses")
    print("rates and shares kept: median of the rounds (min-max); ratios: median / median; "
          "peak RSS: highest of the rounds")
    print_table(rows)


if __name__ == "__main__":
    main()
