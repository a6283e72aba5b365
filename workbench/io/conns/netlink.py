"""SOCK_DIAG_BY_FAMILY dumps over a raw NETLINK_SOCK_DIAG socket, decoded with struct.

Speed is the point: a datagram of equal-length messages (the usual case) is decoded
by one `Struct.iter_unpack`, else one precompiled `unpack_from` per socket, straight
off the receive buffer; each gives the row tuple the core works on
(`workbench.core.conntable` names its fields). Nothing else is done per row unless
TCP_INFO or skmem was asked for. The request's sequence number names the protocol
dumped, and the kernel echoes it in every reply, so a row says what it is without a
field added in Python.
"""

from __future__ import annotations

import _socket  # not socket.py: its enums and selectors would be 2 ms of `workbench conns`
import errno
import os
import struct
import threading
from collections.abc import Callable, Iterator
from queue import SimpleQueue
from typing import Any

from workbench.core.conntable import (
    KIND_RAW,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    Extras,
    RawRow,
)
from workbench.io.conns.procnet import proc_rows

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18  # the older request: TCP over IPv4 and IPv6 in one walk, as ss does
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
ALL_STATES = 0xFFFFFFFF

INET_DIAG_INFO, INET_DIAG_SKMEMINFO = 2, 7
EXT_INFO, EXT_SKMEM = 1 << (INET_DIAG_INFO - 1), 1 << (INET_DIAG_SKMEMINFO - 1)
UDIAG_SHOW_NAME, UDIAG_SHOW_PEER, UDIAG_SHOW_RQLEN, UDIAG_SHOW_UID = 0x1, 0x4, 0x10, 0x40
UDIAG_SHOW_MEMINFO = 0x20
UNIX_DIAG_NAME, UNIX_DIAG_PEER, UNIX_DIAG_RQLEN = 0, 2, 4
UNIX_DIAG_MEMINFO, UNIX_DIAG_UID = 5, 7

NLMSGHDR = struct.Struct("=IHHII")
# inet_diag_req_v2: family, protocol, ext, pad (raw: the protocol), states, then
# inet_diag_sockid (ports and addresses in network order, ifindex, cookie).
INET_REQ = struct.Struct("=IHHIIBBBBI48x")
# inet_diag_req (the older request): family, src_len, dst_len, ext, sockid, states, dbs.
TCP_REQ = struct.Struct("=IHHIIBBBB48xII")
UNIX_REQ = struct.Struct("=IHHIIBBHIIIQ")
# nlmsghdr + inet_diag_msg, native order: ports stay as the kernel sent them (network
# order read as native) and are swapped only where shown or compared.
INET_MSG = struct.Struct("=IHHIIBBBBHH16s16sIQIIIII")
UNIX_MSG = struct.Struct("=IHHIIBBBxIQ")
NLA = struct.Struct("=HH")
U32 = struct.Struct("=I")
U32X2 = struct.Struct("=II")
ERRNO = struct.Struct("=i")
TCP_INFO_HEAD = struct.Struct("=8B24I")  # the fields shown: state … total_retrans
SKMEM = struct.Struct("=9I")

RECV_SIZE = 1 << 16
SLACK = 128  # a header read at the end of what arrived stays inside the buffer

FAMILIES = (_socket.AF_INET, _socket.AF_INET6)
PROTOCOLS = {KIND_TCP: _socket.IPPROTO_TCP, KIND_UDP: _socket.IPPROTO_UDP,
             KIND_RAW: _socket.IPPROTO_RAW}
UNIX_KINDS = {_socket.SOCK_STREAM: KIND_UNIX, _socket.SOCK_DGRAM: KIND_UNIX + 1,
              _socket.SOCK_SEQPACKET: KIND_UNIX + 2}


Each = Callable[[list[RawRow]], None]  # takes a datagram's rows as they are decoded


class DiagError(OSError):
    """The kernel refused a dump (permission, or a diag module not there)."""


class Dumper:
    """One netlink socket, reused for every dump; not thread-safe (one per worker)."""

    def __init__(self) -> None:
        self.sock = _socket.socket(_socket.AF_NETLINK,
                                   _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)
        self.sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, 0))
        self._shapes: dict[int, struct.Struct] = {}

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Dumper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def inet(self, kind: int, family: int, extras: int = 0,
             states: int = ALL_STATES, into: list[RawRow] | None = None,
             extra: dict[int, Extras] | None = None, each: Each | None = None
             ) -> list[RawRow]:
        """Every socket of one protocol (`KIND_TCP`, …) and family, appended to `into`.

        `extras` is EXT_INFO | EXT_SKMEM; what comes back lands in `extra` by cookie.
        `each` is given each datagram's rows as they are decoded, instead of `into`."""
        rows: list[RawRow] = [] if into is None else into
        flags = NLM_F_REQUEST | NLM_F_DUMP
        if family == _socket.AF_UNSPEC:  # TCP only: both families in one walk of the table
            mtype = TCPDIAG_GETSOCK
            self.sock.send(TCP_REQ.pack(TCP_REQ.size, mtype, flags, kind, 0,
                                        _socket.AF_INET, 0, 0, extras, states, 0))
        else:
            mtype = SOCK_DIAG_BY_FAMILY
            pad = _socket.IPPROTO_RAW if kind == KIND_RAW else 0  # raw: every protocol
            self.sock.send(INET_REQ.pack(INET_REQ.size, mtype, flags, kind, 0,
                                         family, PROTOCOLS[kind], extras, pad, states))
        for buf, end, alike in self._replies(mtype):
            batch = rows if each is None else []
            bulk = not extras and self._bulk(buf, end, batch, alike)
            ended = not bulk and self._inet_rows(buf, end, batch, mtype,
                                                 extra if extras else None)
            if each is not None and batch:
                each(batch)
            if ended:
                break
        return rows

    def _inet_rows(self, buf: bytearray, end: int, rows: list[RawRow], mtype: int,
                   extra: dict[int, Extras] | None) -> bool:
        """A datagram message by message (with extras, or not all alike); True at the
        dump's last message."""
        unpack, append = INET_MSG.unpack_from, rows.append
        off = 0
        while off < end:
            row = unpack(buf, off)
            if row[1] != mtype or row[0] < INET_MSG.size:
                self._end(buf, off, row[1])
                return True
            append(row)
            if extra is not None:
                extra[row[14]] = _inet_extras(buf, off + INET_MSG.size, off + row[0])
            off += (row[0] + 3) & ~3
        return False

    def unix(self, states: int = ALL_STATES, into: list[RawRow] | None = None,
             meminfo: bool = False, extra: dict[int, Extras] | None = None,
             each: Each | None = None) -> list[RawRow]:
        """Every Unix socket, as rows shaped like the inet ones (see the core)."""
        rows: list[RawRow] = [] if into is None else into
        show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID
        show |= UDIAG_SHOW_MEMINFO if meminfo else 0
        self.sock.send(UNIX_REQ.pack(UNIX_REQ.size, SOCK_DIAG_BY_FAMILY,
                                     NLM_F_REQUEST | NLM_F_DUMP, KIND_UNIX, 0,
                                     _socket.AF_UNIX, 0, 0, states, 0, show, 0))
        for buf, end, _ in self._replies(SOCK_DIAG_BY_FAMILY):
            batch = rows if each is None else []
            off, ended = 0, False
            while off < end:
                length, mtype = NLMSGHDR.unpack_from(buf, off)[:2]
                if mtype != SOCK_DIAG_BY_FAMILY or length < UNIX_MSG.size:
                    self._end(buf, off, mtype)
                    ended = True
                    break
                batch.append(_unix_row(buf, off, length, extra))
                off += (length + 3) & ~3
            if each is not None and batch:
                each(batch)
            if ended:
                break
        return rows

    def _bulk(self, buf: bytearray, end: int, rows: list[RawRow], length: int) -> bool:
        """A datagram of socket messages all `length` long (the usual case, as `_uniform`
        found) in one `iter_unpack`; False (nothing added) when they are not alike."""
        if not length:
            return False
        shape = self._shapes.get(length)
        if shape is None:
            shape = self._shapes[length] = struct.Struct(
                INET_MSG.format + f"{length - INET_MSG.size}x")
        with memoryview(buf) as view, view[:end] as part:
            rows.extend(shape.iter_unpack(part))
        return True

    def _replies(self, mtype: int) -> Iterator[tuple[bytearray, int, int]]:
        """Each datagram of the dump, through its last (the callers stop iterating
        there), with its messages' length when all are alike (else 0). A thread of its
        own receives them: the kernel walks its table inside `recv` (about half a
        dump's time) while this thread decodes what came before."""
        queue: SimpleQueue[tuple[bytearray, int, int] | BaseException | None] = SimpleQueue()
        reader = threading.Thread(target=self._receive, args=(queue, mtype),
                                  name="sock_diag reader", daemon=True)
        reader.start()
        try:
            while (item := queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            reader.join()  # it stops at the last datagram, which the kernel always sends

    def _receive(self, queue: SimpleQueue[Any], mtype: int) -> None:
        """The reader: datagrams into fresh buffers, until one holds the dump's end."""
        try:
            while True:
                buf = bytearray(RECV_SIZE + SLACK)
                # MSG_TRUNC: the datagram's whole length, so one too big is an error, not cut
                n = self.sock.recv_into(buf, RECV_SIZE, _socket.MSG_TRUNC)
                if n > RECV_SIZE:
                    raise DiagError(errno.EMSGSIZE, f"a netlink reply of {n} bytes is "
                                                    f"larger than the {RECV_SIZE}-byte buffer")
                if n == 0:
                    break
                alike = _uniform(buf, n, mtype)
                queue.put((buf, n, alike))
                if not alike and _holds_end(buf, n, mtype):
                    break
        except BaseException as exc:  # handed to the caller, raised there
            queue.put(exc)
        queue.put(None)

    @staticmethod
    def _end(buf: bytearray, off: int, mtype: int) -> None:
        """The dump's last message: an error (also as DONE's payload: a protocol with
        no diag module ends its dump with -ENOENT there) raises DiagError."""
        length = NLMSGHDR.unpack_from(buf, off)[0]
        if mtype in (NLMSG_ERROR, NLMSG_DONE):
            code = 0
            if length >= NLMSGHDR.size + ERRNO.size:
                code = -ERRNO.unpack_from(buf, off + NLMSGHDR.size)[0]
            if code > 0:
                raise DiagError(code, os.strerror(code))
        else:
            raise DiagError(errno.EPROTO, f"unexpected netlink message (type {mtype}, "
                                          f"{length} bytes)")


def _uniform(buf: bytearray, end: int, mtype: int) -> int:
    """The length of each message when `buf[:end]` holds messages of one length, all of
    type `mtype` (the usual datagram of a dump), else 0; checked as strided views (in C)."""
    length = U32.unpack_from(buf, 0)[0] if end >= NLMSGHDR.size else 0
    if length < INET_MSG.size or length & 3 or end % length:
        return 0
    count = end // length
    with memoryview(buf) as view, view[:end] as part, part.cast("I") as words, \
            part.cast("H") as halves:
        if words[::length // 4].tolist().count(length) != count or \
                halves[2::length // 2].tolist().count(mtype) != count:
            return 0
    return length


def _holds_end(buf: bytearray, end: int, mtype: int) -> bool:
    """Whether a datagram not `_uniform` holds the dump's end: a message not of the
    dump's type (DONE, an error, or one the callers stop at as unexpected), or one too
    short to walk past."""
    off = 0
    while off + NLMSGHDR.size <= end:
        length, kind = NLMSGHDR.unpack_from(buf, off)[:2]
        if kind != mtype or length < NLMSGHDR.size:
            return True
        off += (length + 3) & ~3
    return False


def _attrs(buf: bytearray, off: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(type, start, end) of each netlink attribute in buf[off:end]."""
    while off + NLA.size <= end:
        length, kind = NLA.unpack_from(buf, off)
        if length < NLA.size:
            return
        yield kind & 0x3FFF, off + NLA.size, off + length
        off += (length + 3) & ~3


def _inet_extras(buf: bytearray, off: int, end: int) -> Extras:
    info: tuple[int, ...] | None = None
    skmem: tuple[int, ...] | None = None
    for kind, start, stop in _attrs(buf, off, end):
        if kind == INET_DIAG_INFO:
            data = bytes(buf[start:stop]).ljust(TCP_INFO_HEAD.size, b"\0")
            info = TCP_INFO_HEAD.unpack_from(data)
        elif kind == INET_DIAG_SKMEMINFO:
            data = bytes(buf[start:stop]).ljust(SKMEM.size, b"\0")
            skmem = SKMEM.unpack_from(data)
    return Extras(info, skmem)


def _unix_row(buf: bytearray, off: int, length: int,
              extra: dict[int, Extras] | None) -> RawRow:
    """A Unix socket as a row: name where the inet source address goes, the peer's
    inode where the ifindex goes (the core reads them by family)."""
    _, _, _, _, _, family, stype, state, inode, cookie = UNIX_MSG.unpack_from(buf, off)
    name, peer, rq, wq, uid = b"", 0, 0, 0, 0
    skmem = None
    for kind, start, stop in _attrs(buf, off + UNIX_MSG.size, off + length):
        if kind == UNIX_DIAG_NAME:
            name = bytes(buf[start:stop])
        elif kind == UNIX_DIAG_PEER:
            peer = U32.unpack_from(buf, start)[0]
        elif kind == UNIX_DIAG_RQLEN:
            rq, wq = U32X2.unpack_from(buf, start)
        elif kind == UNIX_DIAG_UID:
            uid = U32.unpack_from(buf, start)[0]
        elif kind == UNIX_DIAG_MEMINFO and extra is not None:
            skmem = SKMEM.unpack_from(bytes(buf[start:stop]).ljust(SKMEM.size, b"\0"))
    if skmem is not None and extra is not None:
        extra[cookie] = Extras(None, skmem)
    kind_code = UNIX_KINDS.get(stype, KIND_UNIX)
    return (length, SOCK_DIAG_BY_FAMILY, 0, kind_code, 0, family, state, 0, 0, 0, 0,
            name, b"", peer, cookie, 0, rq, wq, uid, inode)


def dump(kinds: tuple[int, ...], extras: int = 0, states: int = ALL_STATES,
         extra: dict[int, Extras] | None = None, dumper: Dumper | None = None,
         each: Each | None = None) -> list[RawRow]:
    """Rows of the kinds asked (TCP over both families in the kernel's order; UDP and RAW
    over v4 then v6; Unix), in one list; or, given `each`, handed to it a datagram at a
    time and not kept (a table streamed out is not held twice): the list is then empty."""
    own = dumper is None
    d = Dumper() if dumper is None else dumper
    rows: list[RawRow] = []
    try:
        for kind in kinds:
            if kind == KIND_UNIX:
                d.unix(states, rows, bool(extras & EXT_SKMEM), extra, each)
                continue
            if kind == KIND_TCP:
                try:
                    d.inet(kind, _socket.AF_UNSPEC, extras, states, rows, extra, each)
                    continue
                except DiagError as exc:
                    if exc.errno != errno.ENOENT:
                        raise
            for family in FAMILIES:
                try:
                    d.inet(kind, family, extras & EXT_SKMEM, states, rows, extra, each)
                except DiagError as exc:
                    if exc.errno != errno.ENOENT:  # no diag module for it: /proc, as ss does
                        raise
                    found = proc_rows(kind, family)
                    if each is None:
                        rows.extend(found)
                    elif found:
                        each(found)
    finally:
        if own:
            d.close()
    return rows


__all__ = ["EXT_INFO", "EXT_SKMEM", "DiagError", "Dumper", "Each", "dump"]
