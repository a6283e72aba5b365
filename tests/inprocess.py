"""The `workbench` command run in this process: fast enough for hundreds of bad inputs.

`run_cli` calls `workbench.cli.main` with stdout and stderr captured, an argparse
SystemExit turned into its code, and any exception a thread raised meanwhile recorded
(it would otherwise print a traceback somewhere nobody looks). `check_contract` is
the bad-input contract of every headless command.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field

from workbench.cli import main


@dataclass
class Run:
    argv: list[str]
    code: int
    out: str
    err: str
    seconds: float
    thread_errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"workbench {' '.join(a[:60] for a in self.argv)!r} -> exit {self.code} "
                f"in {self.seconds:.2f} s\nstdout: {self.out[-2000:]}\nstderr: {self.err[-4000:]}"
                f"\nthreads: {self.thread_errors}")


def run_cli(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    crashes: list[str] = []
    previous = threading.excepthook

    def note(args: threading.ExceptHookArgs) -> None:
        crashes.append(f"{args.exc_type.__name__}: {args.exc_value}")

    threading.excepthook = note
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        threading.excepthook = previous
    return Run(list(argv), code, out.getvalue(), err.getvalue(), time.monotonic() - started,
               crashes)


def check_contract(run: Run, codes: Collection[int] = (2,), words: Collection[str] = ()
                   ) -> None:
    """Exit with one of `codes`, no traceback anywhere, no thread crashed; a refusal
    (exit 2) is exactly one line on stderr holding each of `words`; otherwise stderr
    is empty."""
    assert run.code in codes, run
    assert "Traceback" not in run.err and "Traceback" not in run.out, run
    assert not run.thread_errors, run
    if run.code == 2:
        assert run.err.endswith("\n") and run.err.count("\n") == 1, run
        assert len(run.err.splitlines()) == 1, run
        assert run.err.startswith("workbench: "), run
    else:
        assert run.err == "", run
    for word in words:
        assert word in run.err, run
