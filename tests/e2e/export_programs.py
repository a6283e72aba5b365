"""Exported programs as tests build and run them: the C compiled with gcc and the
strict flags, the Python run in dev mode (an unclosed socket warns), their output
read line by line as it comes, and every process stopped by its pid."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest
from support import stop_process, wait_until

from workbench.core.session import PeerSpec, Session
from workbench.core.steps import Step
from workbench.export.c import export_c
from workbench.export.python import export_python

VARIANTS = [("c", "blocking"), ("c", "poll"), ("python", "blocking"),
            ("python", "selectors"), ("python", "asyncio")]
GCC = shutil.which("gcc")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
TIMEOUT = 60.0


def build(session: Session, lang: str, model: str, where: Path) -> list[str]:
    """The command that runs the exported program (C is compiled first)."""
    if lang == "python":
        path = where / f"program-{model}.py"
        path.write_text(export_python(session, model))
        return [sys.executable, "-X", "dev", str(path)]  # an unclosed socket would warn
    if GCC is None:
        pytest.skip("gcc is not installed")
    source, binary = where / f"program-{model}.c", where / f"program-{model}"
    source.write_text(export_c(session, model))
    done = subprocess.run([GCC, *CFLAGS, "-o", str(binary), str(source)], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return [str(binary)]


def address_text(address: object) -> str:
    if isinstance(address, tuple):
        return f"{address[0]}:{address[1]}"
    assert isinstance(address, str)
    return "unix:" + address


class Program:
    """A running program whose output lines are read as they come."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(stream, into), daemon=True)
                         for stream, into in ((self.proc.stdout, self.lines),
                                              (self.proc.stderr, self.errors))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line.rstrip("\n"))

    def bound(self, seq: int) -> str:
        pattern = re.compile(rf"step {seq}: .*bound to (\S+)$")
        found: list[str] = []

        def seen() -> bool:
            found[:] = [m.group(1) for line in self.lines if (m := pattern.search(line))]
            return bool(found) or self.proc.poll() is not None

        wait_until(seen, f"step {seq} to say where it bound", TIMEOUT)
        assert found, f"the program ended before binding: {self.lines}"
        return found[0]

    def finish(self) -> tuple[int, str, str]:
        try:
            self.proc.wait(TIMEOUT)
        finally:
            for reader in self._readers:  # the pipes end when the process does
                reader.join(TIMEOUT)
            stop_process(self.proc)
        return self.proc.returncode, "\n".join(self.lines), "\n".join(self.errors)


def session_of(title: str, steps: list[Step], peers: tuple[str, ...] = ()) -> Session:
    """A session of these steps, started 1 ms apart in the order given."""
    session = Session(peers=[PeerSpec(name, "echo") for name in peers], title=title)
    for i, one in enumerate(steps):
        one.t = i / 1000
        session.add(one)
    return session
