"""Connection table benchmark: 30,000 established loopback pairs (60,000 sockets), against
`ss -tan` and `psutil.net_connections` measured in the same run.

Run with `python tests/bench/bench_conns.py [--pairs 30000] [--rounds 7]`. A script,
not a timed test. The sockets are held by child processes (a process may be limited
to 20,000 descriptors; each raises RLIMIT_NOFILE to its hard limit and holds at most
6,000 pairs), each on its own listener; all are stopped by pid at the end. Figures,
as medians of the rounds (paired: each round runs ours and theirs back to back):
- one refresh: the TCP dump decoded (the pane's worker) vs `ss -tan > /dev/null`;
- a full refresh: dump, summary and pile-ups, filter (`tcp estab`), diff against the
  previous refresh, and the 40 visible rows painted as the table widget paints them,
  vs `ss -tan`;
- `psutil.net_connections("tcp")` vs one refresh;
- memory the 60,000-row table holds (tracemalloc, after the dump);
- the app itself: from the Conns tab chosen to its rows shown, and how late the UI's
  loop runs (a 10 ms sleep measured for 5 s) while the pane refreshes every 0.5 s;
- as whole processes at 24,000 sockets (children stopped until that many are left):
  `workbench conns > /dev/null` and `workbench conns tcp > /dev/null` vs `ss -tan`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from _table import print_table, ratio

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from workbench.core.conn_filter import parse_filter  # noqa: E402
from workbench.core.conn_summary import summarize  # noqa: E402
from workbench.core.conn_trouble import pileups  # noqa: E402
from workbench.core.conntable import KIND_TCP, cookies, diff  # noqa: E402
from workbench.io.conns.source import NetlinkSource  # noqa: E402

PER_CHILD = 6000  # pairs: 12,000 descriptors and a listener, under a 20,000 limit
VISIBLE = 40
SS = shutil.which("ss")
WORKBENCH = str(Path(sys.executable).with_name("workbench"))

CHILD = r"""
import resource, socket, struct, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n = int(sys.argv[1])
lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(4096)
held = [lst]
addr = lst.getsockname()
linger = struct.pack("ii", 1, 0)  # closed by a reset: no TIME_WAIT left behind
for i in range(n):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    c.connect(addr)
    s, _ = lst.accept()
    held += [c, s]
print("ready", len(held), flush=True)
sys.stdin.read()  # until the parent closes our stdin (or kills us by pid)
"""


def start_children(pairs: int) -> list[subprocess.Popen[str]]:
    children: list[subprocess.Popen[str]] = []
    left = pairs
    while left > 0:
        n = min(PER_CHILD, left)
        children.append(subprocess.Popen([sys.executable, "-c", CHILD, str(n)],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True))
        left -= n
    for child in children:  # each says when its pairs are up
        line = child.stdout.readline() if child.stdout else ""
        if not line.startswith("ready"):
            stop_children(children)
            raise SystemExit(f"a child holding sockets failed to start: {line!r}")
    return children


def stop_children(children: list[subprocess.Popen[str]]) -> None:
    for child in children:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_ss() -> None:
    assert SS is not None
    subprocess.run([SS, "-tan"], stdout=subprocess.DEVNULL, check=True)


# An installed workbench runs from bytecode pip compiled; a checkout run with
# PYTHONDONTWRITEBYTECODE set would compile every module it imports on every run, and
# that is not what a user's `workbench conns` pays.
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_package() -> None:
    import workbench

    subprocess.run([sys.executable, "-m", "compileall", "-q", Path(workbench.__file__).parent],
                   env=INSTALLED_ENV, stdout=subprocess.DEVNULL, check=True)


def run_workbench(*words: str) -> None:
    subprocess.run([WORKBENCH, "conns", *words], stdout=subprocess.DEVNULL, check=True,
                   env=INSTALLED_ENV)


def full_refresh(source: NetlinkSource, before: list[tuple]) -> Callable[[], object]:  # type: ignore[type-arg]
    """What the pane does per refresh, off and then on the UI's loop."""
    from workbench.ui.widgets.conn_table import paint_visible

    flt = parse_filter("tcp estab")
    last = [before, cookies(before)]  # the pane keeps the last table's cookies

    def refresh() -> object:
        snap = source.fetch((KIND_TCP,))
        summary = summarize(snap.rows, *source.counters())
        pileups(snap.rows, summary.tcp_states, snap.owners, summary.port_range)
        rows = flt.apply(snap.rows)
        new = cookies(snap.rows)
        changes = diff(last[0], snap.rows, last[1], new)
        last[:] = [snap.rows, new]
        return paint_visible(rows[:VISIBLE], snap, changes, width=118)

    return refresh


def paired(rounds: int, ours: Callable[[], object], theirs: Callable[[], object]
           ) -> tuple[float, float]:
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(ours))
        b.append(timed(theirs))
    return statistics.median(a), statistics.median(b)


def table_memory(source: NetlinkSource) -> tuple[int, int]:
    tracemalloc.start()
    snap = source.fetch((KIND_TCP,))
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return len(snap.rows), held


async def app_lag() -> tuple[float, list[float]]:
    """The real app on this table: time to the first rows, then the UI loop's lateness."""
    from workbench.ui.app import WorkbenchApp

    app = WorkbenchApp(journal=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)  # the app is up and idle
        started = time.perf_counter()
        app.main.show_pane("conns")  # what the key 5 does
        pane = app.main.panes["conns"]
        while pane.refreshes < 1:  # type: ignore[attr-defined]
            await asyncio.sleep(0.005)
        first = time.perf_counter() - started
        pane.step_interval(-5)  # type: ignore[attr-defined]
        lags: list[float] = []
        end = time.perf_counter() + 5
        while time.perf_counter() < end:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - t - 0.01)
    return first, sorted(lags)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=30000,
                        help="established loopback pairs to hold (two sockets each)")
    parser.add_argument("--rounds", type=int, default=7, help="paired runs per figure")
    args = parser.parse_args()
    if args.pairs < 1 or args.rounds < 1:
        parser.error("--pairs and --rounds must be at least 1")
    if SS is None:
        raise SystemExit("ss (iproute2) is needed")
    import psutil

    children = start_children(args.pairs)
    try:
        source = NetlinkSource()
        rows = source.fetch((KIND_TCP,)).rows
        print(f"{len(rows)} TCP sockets on this machine ({args.pairs} pairs held by "
              f"{len(children)} processes)\n")
        dump, ss = paired(args.rounds, lambda: source.fetch((KIND_TCP,)), run_ss)
        full, ss2 = paired(args.rounds, full_refresh(source, rows), run_ss)
        ps = statistics.median(timed(lambda: psutil.net_connections("tcp"))
                               for _ in range(max(3, args.rounds // 2)))
        count, held = table_memory(source)
        source.close()
        first, lags = asyncio.run(app_lag())
        result = [
            ("one refresh: dump + decode", ms(dump), ms(ss) + " ss -tan", ratio(dump, ss)),
            ("full refresh: + summary, filter, diff, paint 40", ms(full),
             ms(ss2) + " ss -tan",
             ratio(full, ss2)),
            ("psutil.net_connections('tcp') vs one refresh", ms(dump), ms(ps), ratio(dump, ps)),
            (f"memory of the {count}-row table", f"{held / 2**20:.1f} MiB", "", ""),
            ("app: Conns tab chosen to the rows shown", ms(first), "", ""),
            ("app: UI loop lag while refreshing, p95 / max",
             f"{ms(lags[int(len(lags) * 0.95)])} / {ms(lags[-1])}", "", ""),
        ]
        keep_whole_process_sockets(children)
        count24 = len(NetlinkSource().fetch((KIND_TCP,)).rows)
        compile_package()
        whole, ss3 = paired(args.rounds, run_workbench, run_ss)
        whole_tcp, ss4 = paired(args.rounds, lambda: run_workbench("tcp"), run_ss)
        result += [
            (f"workbench conns > /dev/null ({count24} TCP)", ms(whole), ms(ss3) + " ss -tan",
             ratio(whole, ss3)),
            (f"workbench conns tcp > /dev/null ({count24} TCP)", ms(whole_tcp),
             ms(ss4) + " ss -tan", ratio(whole_tcp, ss4)),
        ]
    finally:
        stop_children(children)
    print_table(result, ("what", "this project", "peer", "ratio (time, lower is better)"))


def keep_whole_process_sockets(children: list[subprocess.Popen[str]]) -> None:
    """Stop children until at most 24,000 sockets are left (at least one child stays)."""
    while len(children) > 1 and 2 * PER_CHILD * len(children) > 24000:
        stop_children([children.pop()])

if __name__ == "__main__":
    main()
