"""Session fuzzer for deeper runs than the suite's: N damaged sessions replayed.

Run `python tests/bench/fuzz_sessions.py [--n 2000] [--seed 1] [--text 0.3]
[--process] [--keep DIR]`. Mutants are made as in tests/e2e/test_fuzz_sessions.py
(tests/session_mutants.py) from a seeded generator, so a run repeats exactly. Each is
replayed in this process (or with --process, as its own `python -m workbench`, which
also catches what only shows at exit) with short timeouts. Prints counts by exit code,
the slowest runs, and every mutant that broke the contract: a traceback, a crashed
thread, an exit code other than 0/1/2, a refusal longer than one line, or a run over
its time bound; those are written to --keep (default: a temporary folder). Exits 1 if
any was found.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared helpers

from inprocess import Run, check_contract, run_cli
from session_mutants import (
    MAX_WAIT,
    SIDECAR,
    TIMEOUT,
    examples,
    mutant,
    time_bound,
)


class RandomPicker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


def replay(path: Path, in_process: bool, bound: float) -> Run:
    argv = ["replay", str(path), "--timeout", str(TIMEOUT), "--max-wait", str(MAX_WAIT)]
    if in_process:
        faulthandler.dump_traceback_later(bound + 60, exit=True)
        try:
            return run_cli(*argv)
        finally:
            faulthandler.cancel_dump_traceback_later()
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "workbench", *argv], capture_output=True,
                              text=True, errors="replace", timeout=bound + 60,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Run(argv, -9, "", "did not finish", time.monotonic() - started)
    return Run(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def broken(run: Run, bound: float) -> str:
    """Why the run breaks the contract, or ''."""
    try:
        check_contract(run, (0, 1, 2))
    except AssertionError:
        return "contract: " + (run.err.strip().splitlines() or [f"exit {run.code}"])[-1][:200]
    if run.seconds > bound:
        return f"slow: {run.seconds:.1f} s over a bound of {bound:.1f} s"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="mutants to run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--text", type=float, default=0.3,
                        help="share of mutants that also get text-level damage")
    parser.add_argument("--process", action="store_true", help="each replay its own process")
    parser.add_argument("--keep", type=Path, help="where to write the mutants that broke")
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="fuzz-sessions-"))
    keep.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fuzz-work-"))
    (work / "s.data").write_bytes(SIDECAR)
    bases, rng = examples(), random.Random(args.seed)
    codes: collections.Counter[int] = collections.Counter()
    slowest: list[tuple[float, int]] = []
    found = 0
    for i in range(args.n):
        text = mutant(RandomPicker(rng), bases, text_damage=rng.random() < args.text)
        path = work / "mutant.json"
        path.write_bytes(text)
        bound = time_bound(text, bases)
        run = replay(path, not args.process, bound)
        codes[run.code] += 1
        slowest = sorted([*slowest, (run.seconds, i)], reverse=True)[:5]
        why = broken(run, bound)
        if why:
            found += 1
            (keep / f"mutant-{args.seed}-{i}.json").write_bytes(text)
            print(f"#{i}: {why}\n  kept as {keep / f'mutant-{args.seed}-{i}.json'}")
    print(f"{args.n} mutants, seed {args.seed}: " + ", ".join(
        f"exit {code}: {count}" for code, count in sorted(codes.items())))
    print("slowest: " + ", ".join(f"#{i} {s:.2f} s" for s, i in slowest))
    print(f"contract broken: {found}" + (f" (kept in {keep})" if found else ""))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
