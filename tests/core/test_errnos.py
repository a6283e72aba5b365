"""The errno knowledge table: numbers from this platform, words written for sockets."""

import errno
import os
import socket

import pytest

from workbench.core.errnos import FALLBACK_HINT, ErrnoInfo, all_errnos, from_oserror, lookup
from workbench.core.errnos import gai_errors as gai_errors_list

SOCKET_ERRNOS = (
    "EACCES", "EPERM", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY",
    "EBADF", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET", "EDESTADDRREQ", "EFAULT",
    "EHOSTUNREACH", "EHOSTDOWN", "EINPROGRESS", "EINTR", "EINVAL", "EISCONN", "EMFILE",
    "ENFILE", "EMSGSIZE", "ENETDOWN", "ENETUNREACH", "ENOBUFS", "ENOMEM", "ENOPROTOOPT",
    "ENOTCONN", "ENOTSOCK", "EOPNOTSUPP", "EPIPE", "EPROTONOSUPPORT", "EPROTOTYPE",
    "ESOCKTNOSUPPORT", "ESHUTDOWN", "ETIMEDOUT", "ENOENT", "ENAMETOOLONG", "ENOTDIR", "EROFS",
    "ELOOP", "ECANCELED",
)


def _is_specific(info: ErrnoInfo) -> bool:
    return bool(info.meaning) and bool(info.hint) and info.hint != FALLBACK_HINT


@pytest.mark.parametrize("name", SOCKET_ERRNOS)
def test_socket_errno_has_specific_words(name: str) -> None:
    info = lookup(name)
    assert info.name == name
    assert info.number == getattr(errno, name)
    assert info.message == os.strerror(info.number)
    assert _is_specific(info)
    assert not info.meaning.startswith("the call failed")
    assert len(info.meaning) > len(info.message) + 20
    assert "\n" not in info.meaning + info.hint


def test_all_errnos_match_errno_module() -> None:
    infos = all_errnos()
    assert [i.number for i in infos] == sorted(errno.errorcode)
    for info in infos:
        assert getattr(errno, info.name) == info.number
        assert info.message == os.strerror(info.number)
        assert info.meaning and info.hint


def test_other_errnos_fall_back_to_strerror() -> None:
    info = lookup(errno.EXDEV)
    assert info.hint == FALLBACK_HINT
    assert "cross-device" in info.meaning.lower()


@pytest.mark.parametrize("key", [111, "111", "ECONNREFUSED", "econnrefused", " EConnRefused "])
def test_lookup_by_number_or_name(key: int | str) -> None:
    assert lookup(key) == lookup(errno.ECONNREFUSED)
    assert lookup(key).name == "ECONNREFUSED"


def test_aliases_share_one_entry() -> None:
    assert errno.EWOULDBLOCK == errno.EAGAIN
    assert lookup("EWOULDBLOCK").name == "EAGAIN"
    assert "EWOULDBLOCK" in lookup("EAGAIN").meaning
    assert lookup("enotsup").name == "EOPNOTSUPP"
    assert lookup(errno.EOPNOTSUPP).name == "EOPNOTSUPP"


@pytest.mark.parametrize("key", ["ENOTANERRNO", "", "errorcode", 0, 99999, -999])
def test_lookup_unknown_raises_keyerror(key: int | str) -> None:
    with pytest.raises(KeyError):
        lookup(key)


def test_meanings_say_socket_specific_things() -> None:
    assert "non-blocking" in lookup("EAGAIN").meaning
    assert "SO_ERROR" in lookup("EINPROGRESS").meaning
    assert "writable" in lookup("EINPROGRESS").meaning
    assert "TIME_WAIT" in lookup("EADDRINUSE").meaning
    assert "SO_REUSEADDR" in lookup("EADDRINUSE").hint
    assert "ephemeral" in lookup("EADDRNOTAVAIL").meaning
    assert "workbench peer echo" in lookup("ECONNREFUSED").hint


def test_from_oserror_with_errno() -> None:
    assert from_oserror(ConnectionRefusedError(errno.ECONNREFUSED, "x")).name == "ECONNREFUSED"
    assert from_oserror(OSError(errno.EADDRINUSE, "x")) == lookup("EADDRINUSE")


def test_from_oserror_python_timeout_is_etimedout() -> None:
    info = from_oserror(TimeoutError("timed out"))
    assert (info.name, info.number) == ("ETIMEDOUT", errno.ETIMEDOUT)
    assert "settimeout" in info.meaning
    kernel = from_oserror(TimeoutError(errno.ETIMEDOUT, "Connection timed out"))
    assert kernel == lookup("ETIMEDOUT")


def test_from_oserror_gaierror() -> None:
    exc = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    info = from_oserror(exc)
    assert (info.name, info.number) == ("EAI_NONAME", socket.EAI_NONAME)
    assert info.number < 0
    assert info.message == "Name or service not known"
    assert _is_specific(info)
    assert from_oserror(socket.gaierror(socket.EAI_AGAIN, "t")).name == "EAI_AGAIN"


def test_gai_errors_are_complete_and_findable() -> None:
    names = {n for n in dir(socket) if n.startswith("EAI_")}
    infos = gai_errors_list()
    assert {i.name for i in infos} == names
    for info in infos:
        assert info.number == getattr(socket, info.name)
        assert _is_specific(info)
        assert lookup(info.number) == info
        assert lookup(info.name.lower()) == info


def test_from_oserror_never_raises() -> None:
    assert from_oserror(OSError("AF_UNIX path too long")).name == "ENAMETOOLONG"
    assert from_oserror(OSError("odd")).hint == FALLBACK_HINT
    assert from_oserror(OSError(99999, "weird")).number == 99999
    assert from_oserror(socket.gaierror("no code")).name == "EAI_UNKNOWN"
