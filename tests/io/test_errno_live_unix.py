"""Errors on Unix socket paths and abstract names, made for real through the engine and
explained with what the filesystem and /proc/net/unix show."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_errors import cause, explain, failed, new
from support import ok

from workbench.io.engine import Engine


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="wb-live-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- Unix paths ---------------------------------------------------------------------------


def test_enoent_on_a_missing_path(engine: Engine, sock_dir: str) -> None:
    sid = new(engine, family="unix")
    path = os.path.join(sock_dir, "none.sock")
    d = explain(engine, failed(engine.call("connect", sid, address=f"unix:{path}"), "ENOENT"))
    assert f"nothing exists at {path}" in cause(d)


def test_econnrefused_on_a_stale_path(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "stale.sock")
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(path)
    sid = new(engine, family="unix")
    d = explain(engine, failed(engine.call("connect", sid, address=f"unix:{path}"),
                               "ECONNREFUSED"))
    assert "stale" in d.meaning and "stale socket file" in cause(d)


def test_eaddrinuse_on_a_path_that_is_a_file(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "file")
    Path(path).write_text("x")
    sid = new(engine, family="unix")
    d = explain(engine, failed(engine.call("bind", sid, address=f"unix:{path}"), "EADDRINUSE"))
    assert "regular file, not a socket" in cause(d)


def test_eprototype_stream_to_a_datagram_path(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "dgram.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(path)
        sid = new(engine, family="unix")
        d = explain(engine, failed(engine.call("connect", sid, address=f"unix:{path}"),
                                   "EPROTOTYPE"))
    assert "another type" in d.meaning


def test_eagain_on_a_unix_connect_to_a_full_backlog(engine: Engine, sock_dir: str) -> None:
    path = os.path.join(sock_dir, "full.sock")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as first:
        server.bind(path)
        server.listen(0)
        first.connect(path)  # the one connection the queue holds
        sid = new(engine, family="unix")
        ok(engine.call("set_blocking", sid, blocking=False))
        d = explain(engine, failed(engine.call("connect", sid, address=f"unix:{path}"),
                                   "EAGAIN"))
    assert "backlog full" in d.meaning


def test_enotdir_and_eloop_on_unix_paths(engine: Engine, sock_dir: str) -> None:
    plain = os.path.join(sock_dir, "plain")
    Path(plain).write_text("x")
    os.symlink(os.path.join(sock_dir, "b"), os.path.join(sock_dir, "a"))
    os.symlink(os.path.join(sock_dir, "a"), os.path.join(sock_dir, "b"))
    sid = new(engine, family="unix")
    d = explain(engine, failed(engine.call("bind", sid, address=f"unix:{plain}/x.sock"),
                               "ENOTDIR"))
    assert "a part of it is not a directory" in cause(d)
    d = explain(engine, failed(engine.call("bind", sid, address=f"unix:{sock_dir}/a/x.sock"),
                               "ELOOP"))
    assert "go round in a loop" in cause(d)
    d = explain(engine, failed(engine.call("bind", sid, address=f"unix:{sock_dir}/no/x.sock"),
                               "ENOENT"))
    assert f"{sock_dir}/no cannot be reached: it does not exist" in cause(d)


def test_abstract_names_refused_and_in_use(engine: Engine) -> None:
    name = f"wb-live-{os.getpid()}-{id(engine)}"
    sid = new(engine, family="unix")
    d = explain(engine, failed(engine.call("connect", sid, address=f"unix:@{name}"),
                               "ECONNREFUSED"))
    assert f"no socket is bound to the abstract name @{name}" in cause(d)
    with socket.socket(socket.AF_UNIX) as holder:
        holder.bind("\0" + name)
        other = new(engine, family="unix")
        d = explain(engine, failed(engine.call("bind", other, address=f"unix:@{name}"),
                                   "EADDRINUSE"))
    assert f"bound to the abstract name @{name} already" in cause(d)


def test_emsgsize_on_a_unix_datagram_over_the_send_buffer(engine: Engine) -> None:
    pair = ok(engine.call("socketpair", family="unix", type="dgram", auto=False))
    sid = int(pair.result["socks"][0])  # type: ignore[index]
    default = int(Path("/proc/sys/net/core/wmem_default").read_text())
    d = explain(engine, failed(engine.call("send", sid, data=b"x" * (default + 4096)),
                               "EMSGSIZE"))
    assert f"a Unix datagram must fit SO_SNDBUF, {default} bytes by default" in cause(d)
