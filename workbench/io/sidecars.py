"""Files a session's payloads refer to: sidecars beside a session file, a journal's data.

A reference `{"file": NAME, "at": A, "size": N}` is checked when the session is
loaded, before anything runs: NAME is a plain file name (the file sits in the
session's own folder), the file is a regular file opened read-only and never through
a symlink, and A and N are whole numbers of bytes that stay within the file.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.session import PayloadReader, make_reader
from workbench.core.steps import Payload
from workbench.io.capture import ByteLog

# Called for a reference past the end of its file: (name, at, size, the file's length).
ShortRef = Callable[[str, int, int, int], None]


def shown(value: Any) -> str:
    """A value for a one-line message: strings quoted and cut short, others by type
    (a 5,000-digit integer cannot even be turned into a string)."""
    if isinstance(value, str):
        return repr(value[:80] + ("…" if len(value) > 80 else ""))
    return f"a {type(value).__name__}"


def check_name(name: Any) -> str:
    """A sidecar's name: a plain file name, so the file is in the session's folder."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        raise InputError(f"sidecar name {shown(name)} is not a plain file name: a sidecar "
                         "is a file beside the session file, named without any '/'")
    return name


def open_readonly(path: Path, what: str, hint: str = "") -> ByteLog:
    """`path` as a read-only byte source; InputError (`what` + why + `hint`) if it is
    missing, a symlink, not a regular file, or unreadable."""
    try:
        return ByteLog(path=str(path), readonly=True)
    except FileNotFoundError:
        reason = "is missing"
    except UnicodeEncodeError:
        reason = "is not a valid file name"
    except OSError as exc:
        reason = {errno.ELOOP: "is a symbolic link, which is never followed",
                  errno.EINVAL: "is not a regular file"}.get(
            exc.errno or 0, f"cannot be read: {exc.strerror}")
    raise InputError(f"{what} {reason}{hint}")


def open_sidecar(directory: Path, name: Any) -> ByteLog:
    """The sidecar `name` in `directory`, read-only."""
    check_name(name)
    return open_readonly(directory / name, f"sidecar {name!r}",
                         ": a sidecar must be a regular file beside the session file")


def span(obj: dict[str, Any]) -> tuple[int, int]:
    """A file reference's at and size: whole numbers of bytes, 0 or more."""
    values = []
    for key in ("at", "size"):
        value = obj.get(key)
        whole = isinstance(value, int) and not isinstance(value, bool)
        if not whole or value < 0:
            got = "nothing" if key not in obj else "a negative number" if whole else shown(value)
            raise InputError(f"payload in {shown(obj['file'])}: {key} must be a whole "
                             f"number of bytes, 0 or more (got {got})")
        values.append(value)
    return values[0], values[1]


def checked_reader(open_file: Callable[[str], ByteLog], short: ShortRef) -> PayloadReader:
    """The session codec's payload reader, with every file reference checked first:
    its name and numbers, and `short(...)` called if it reaches past the file's end."""
    base = make_reader(open_file)

    def read(obj: dict[str, Any]) -> Payload:
        if isinstance(obj, dict) and "file" in obj:
            name = obj["file"]
            if not isinstance(name, str):
                raise InputError(f"payload file name must be a string (got {shown(name)})")
            at, size = span(obj)
            length = len(open_file(name))
            if at + size > length:
                short(name, at, size, length)
        return base(obj)

    return read


def refuse_short(name: str, at: int, size: int, length: int) -> None:
    """For session files: a reference past the end is bad input."""
    raise InputError(f"payload of {size} bytes at {at} in {name!r} reaches past its end "
                     f"({length} bytes): the sidecar is cut short or the reference is wrong")
