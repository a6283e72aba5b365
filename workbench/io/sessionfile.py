"""Reading and writing session files: atomic, mode 0600, big payloads in a sidecar."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.session import (
    INLINE_LIMIT,
    Session,
    SessionFormatError,
    dumps_session,
    inline_payload,
    loads_session,
    make_reader,
)
from workbench.core.steps import DataRef, NotKept, Payload
from workbench.io.capture import ByteLog
from workbench.io.journal import is_journal, load_journal
from workbench.io.peers import parse_kind, parse_transport


def sidecar_name(path: Path) -> str:
    return path.name.removesuffix(".json") + ".data"


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write atomically (temp file, fsync, rename), mode 0600; sidecar first."""
    path = Path(path)
    side = path.with_name(sidecar_name(path))
    side_tmp, side_fd, written = None, None, 0

    def write(value: Payload) -> dict[str, Any]:
        nonlocal side_tmp, side_fd, written
        if len(value) <= INLINE_LIMIT or isinstance(value, NotKept):
            return inline_payload(value)
        if side_fd is None:
            side_fd, side_tmp = _temp_in(side)
        data = value.load() if isinstance(value, DataRef) else bytes(value)
        at = written
        os.write(side_fd, data)
        written += len(data)
        return {"file": side.name, "at": at, "size": len(data)}

    text = dumps_session(session, write)
    if side_fd is not None and side_tmp is not None:
        _commit(side_fd, side_tmp, side)
    fd, tmp = _temp_in(path)
    os.write(fd, text.encode())
    _commit(fd, tmp, path)
    return path


def _temp_in(target: Path) -> tuple[int, str]:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.fchmod(fd, 0o600)
    return fd, tmp


def _commit(fd: int, tmp: str, target: Path) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)


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
            session = loads_session(text, make_reader(open_sidecar))
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
    side = path.with_name(Path(name).name)  # never outside the session's folder
    if not side.is_file():
        raise SessionFormatError(f"payload refers to {name!r}, which is missing beside the file")
    return ByteLog(path=str(side))
