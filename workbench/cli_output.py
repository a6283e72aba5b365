"""Where the command's output goes: written once the exit code is known (a long table
as it is made, its errors all found before), a reader that left early is no error,
output that cannot be written is one line on stderr (exit 2), and names holding lone
surrogates print escaped instead of failing."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable

BAD_INPUT = 2
CANNOT_WRITE = "send it to a file or pipe that can take it"


def one_line(text: str) -> str:
    return " ".join(text.splitlines()) or "unknown error"


def say(line: str) -> None:
    """A line on stderr; if even stderr cannot be written, the exit code says it."""
    with contextlib.suppress(OSError):
        print(line, file=sys.stderr, flush=True)


def tolerate_unencodable() -> None:
    """Names from files and arguments may hold lone surrogates: print them escaped."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError, io.UnsupportedOperation):
                reconfigure(errors="backslashreplace")


def emit(text: str, code: int) -> int:
    """Write a command's output. A reader that left (`| head -1`) is no error: the
    command's own code stands. Output that cannot be written is one line, exit 2."""

    def write() -> int:
        sys.stdout.write(text)
        return code

    return written(write, code)


def written(write: Callable[[], int], code: int = 0) -> int:
    """`write`'s code, its output flushed, with `emit`'s rules; a reader that left is
    `code`. For a command that writes as it goes (a long table is never held whole)."""
    try:
        code = write()
        sys.stdout.flush()
    except BrokenPipeError:
        drop_stdout()
        return code
    except OSError as exc:
        drop_stdout()
        say(f"workbench: cannot write the output: {exc.strerror or exc}; {CANNOT_WRITE}")
        return BAD_INPUT
    return code


def drop_stdout() -> None:
    """Point the process's stdout at /dev/null, so the flush at exit does not fail again."""
    if sys.stdout is not sys.__stdout__:
        return
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
