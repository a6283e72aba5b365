"""Reading and writing session files: atomic, mode 0600, big payloads in a sidecar."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.session import (
    INLINE_LIMIT,
    Session,
    SessionFormatError,
    dumps_session,
    inline_payload,
    loads_session,
)
from workbench.core.steps import DataRef, NotKept, Payload
from workbench.io.atomic_write import atomic_file, check_target, write_atomic
from workbench.io.capture import ByteLog
from workbench.io.journal import is_journal, load_journal
from workbench.io.peers import parse_kind, parse_transport
from workbench.io.sidecars import checked_reader, open_sidecar, refuse_short


def sidecar_name(path: Path) -> str:
    return path.name.removesuffix(".json") + ".data"


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temp file, fsync, rename), mode 0600; sidecar first. A target
    (or its sidecar) that is a symlink or not a regular file is refused."""
    path = check_target(path)
    side = path.with_name(sidecar_name(path))  # checked as a target if it is written
    with contextlib.ExitStack() as stack:  # the sidecar is renamed into place on exit
        side_out: BinaryIO | None = None
        written = 0

        def write(value: Payload) -> dict[str, Any]:
            nonlocal side_out, written
            if len(value) <= INLINE_LIMIT or isinstance(value, NotKept):
                return inline_payload(value)
            if side_out is None:
                side_out = stack.enter_context(atomic_file(side))
            data = value.load() if isinstance(value, DataRef) else bytes(value)
            at = written
            side_out.write(data)
            written += len(data)
            return {"file": side.name, "at": at, "size": len(data)}

        text = dumps_session(session, write)
    return write_atomic(path, text.encode())


MAX_SESSION_BYTES = 256 << 20  # read whole into memory: a bigger file is refused unread


def check_session_path(text: str) -> None:
    """A session is a regular file of at most MAX_SESSION_BYTES, or a journal directory
    whose steps.jsonl is: checked before opening, so a FIFO never blocks the command
    and /dev/zero is never read."""
    path = Path(text)
    info = _stat(path)
    if info is None:
        raise SessionFormatError(f"{path}: no such file")
    if stat.S_ISDIR(info.st_mode):
        path = path / "steps.jsonl"
        info = _stat(path, follow=False)
        if info is None or stat.S_ISLNK(info.st_mode):
            return  # the loader says it is not a journal, or refuses the symlink
    if not stat.S_ISREG(info.st_mode):
        what = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else
                "a socket" if stat.S_ISSOCK(info.st_mode) else "a device")
        raise SessionFormatError(f"{path}: is {what}, not a regular file: give a session "
                                 ".json file or a journal directory")
    if info.st_size > MAX_SESSION_BYTES:
        raise SessionFormatError(f"{path}: {info.st_size} bytes is over the "
                                 f"{MAX_SESSION_BYTES >> 20} MiB a session file may hold: big "
                                 "payloads belong in a sidecar file")


def _stat(path: Path, follow: bool = True) -> os.stat_result | None:
    """The file's status, None if there is none; InputError if it cannot be looked at."""
    try:
        return os.stat(path, follow_symlinks=follow)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SessionFormatError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:  # a NUL or a lone surrogate in the name
        raise SessionFormatError(f"{str(path)!r} is not a valid file name") from None


def load_session(path: str | os.PathLike[str]) -> Session:
    """A session from a file or a journal directory; errors name the file and problem."""
    check_session_path(str(path))
    path = Path(path)
    try:
        if path.is_dir():
            if not is_journal(path):
                raise SessionFormatError("is a directory but not a journal (no steps.jsonl)")
            return _check_peers(load_journal(path))
        text = path.read_text(encoding="utf-8")
        sidecars: dict[str, ByteLog] = {}  # one open file per sidecar, not per payload

        def open_sidecar(name: str) -> ByteLog:
            if name not in sidecars:
                sidecars[name] = _sidecar(path, name)
            return sidecars[name]

        try:
            session = loads_session(text, checked_reader(open_sidecar, refuse_short))
        except BaseException:
            for log in sidecars.values():
                log.close()
            raise
        session.closers.extend(log.close for log in sidecars.values())
        return _check_peers(session)
    except SessionFormatError as exc:
        msg = str(exc)
        raise SessionFormatError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
    except UnicodeDecodeError:
        raise SessionFormatError(f"{path}: not a text file (a session is UTF-8 JSON)") from None
    except FileNotFoundError:
        raise SessionFormatError(f"{path}: no such file") from None
    except OSError as exc:
        raise SessionFormatError(f"{path}: cannot read: {exc.strerror}") from None


def _check_peers(session: Session) -> Session:
    """Bad peer declarations are problems of the file, found before anything starts."""
    for i, spec in enumerate(session.peers):
        try:
            parse_kind(spec.kind)
            parse_transport(spec.transport)
            if spec.address:
                parse_endpoint(spec.address)
        except InputError as exc:
            raise SessionFormatError(f"peers[{i}]: {exc}") from None
    return session


def _sidecar(path: Path, name: str) -> ByteLog:
    return open_sidecar(path.parent, name)  # never outside the session's folder
