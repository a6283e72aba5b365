"""Reading and writing session files: atomic, mode 0600, big payloads in a sidecar."""

from __future__ import annotations

import contextlib
import os
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


def load_session(path: str | os.PathLike[str]) -> Session:
    """A session from a file or a journal directory; errors name the file and problem."""
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
