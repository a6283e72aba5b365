"""The errno knowledge table: numbers from this platform, words written for sockets."""

import errno
import os
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.errno_calls import ANY, CALL_NAMES, CALLS, call_of
from workbench.core.errno_table import CAUSES, PORTS
from workbench.core.errno_words import GAI_ERRORS
from workbench.core.errno_words import SOCKET_ERRNOS as WORDS
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


# -- per call, causes, portability ---------------------------------------------------------

ISSUE_ERRNOS = (
    "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY", "EBADF",
    "ECONNABORTED", "ECONNREFUSED", "ECONNRESET", "EDESTADDRREQ", "EFAULT", "EHOSTDOWN",
    "EHOSTUNREACH", "EINPROGRESS", "EINTR", "EINVAL", "EISCONN", "EMFILE", "EMSGSIZE",
    "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOBUFS", "ENOENT", "ENOMEM",
    "ENOPROTOOPT", "ENOTCONN", "ENOTSOCK", "EOPNOTSUPP", "EPERM", "EPIPE", "EPROTONOSUPPORT",
    "EPROTOTYPE", "ESHUTDOWN", "ESOCKTNOSUPPORT", "ETIMEDOUT", "ENAMETOOLONG",
)


@pytest.mark.parametrize("name", ISSUE_ERRNOS)
def test_issue_errno_is_complete(name: str) -> None:
    info = lookup(name)
    assert info.socket_error
    assert info.calls, f"{name}: no call it can happen on"
    assert info.causes and info.fixes
    assert name in PORTS
    for call, meaning, hint in info.calls:
        assert call.split("/")[0] in (*CALL_NAMES, ANY)
        assert meaning and hint and "\n" not in meaning + hint


def test_every_table_names_a_known_entry() -> None:
    known = set(WORDS) | set(GAI_ERRORS)
    assert set(CALLS) <= known
    assert set(CAUSES) <= known
    assert set(PORTS) <= known
    assert set(WORDS) <= set(PORTS) and set(GAI_ERRORS) <= set(PORTS)
    for calls in CALLS.values():
        for key in calls:
            call, _, family = key.partition("/")
            assert call in (*CALL_NAMES, ANY) and family in ("", "unix", "inet"), key


@pytest.mark.parametrize(("name", "winsock", "number", "bsd"), [
    ("ECONNREFUSED", "WSAECONNREFUSED", 10061, 61),
    ("EAGAIN", "WSAEWOULDBLOCK", 10035, 35),
    ("EADDRINUSE", "WSAEADDRINUSE", 10048, 48),
    ("ECONNRESET", "WSAECONNRESET", 10054, 54),
    ("ENETRESET", "WSAENETRESET", 10052, 52),
    ("ETIMEDOUT", "WSAETIMEDOUT", 10060, 60),
    ("EINTR", "WSAEINTR", 10004, None),
])
def test_winsock_and_bsd_numbers(name: str, winsock: str, number: int, bsd: int | None) -> None:
    port = lookup(name).port
    assert (port.winsock, port.winsock_number, port.freebsd, port.macos) == (
        winsock, number, bsd, bsd)


def test_macos_differs_from_freebsd_where_it_does() -> None:
    port = lookup("EOPNOTSUPP").port
    assert (port.freebsd, port.macos) == (45, 102)


def test_soft_and_hard() -> None:
    for name in ("EAGAIN", "EINTR", "EINPROGRESS", "ENOBUFS", "EAI_AGAIN"):
        assert lookup(name).soft, name
    for name in ("ECONNREFUSED", "EADDRINUSE", "EACCES", "EINVAL", "EAI_NONAME"):
        assert not lookup(name).soft, name


def test_meaning_is_the_one_for_the_call() -> None:
    info = lookup("EADDRINUSE")
    bind, listen, connect = (info.for_call(c)[0] for c in ("bind", "listen", "connect"))
    assert len({bind, listen, connect}) == 3
    assert "TIME_WAIT" in bind and "listens" in listen and "four-tuple" in connect
    assert "on listen" not in info.meaning  # the general meaning does not list every call


def test_eacces_on_socket_is_the_ping_range_not_the_port_rule() -> None:
    meaning, hint = lookup("EACCES").for_call("socket")
    assert "ping_group_range" in meaning + hint
    assert "ip_unprivileged_port_start" not in meaning
    assert "ip_unprivileged_port_start" in lookup("EACCES").for_call("bind", "inet")[0]


@pytest.mark.parametrize(("name", "call", "word"), [
    ("ECONNREFUSED", "connect", "reset"),
    ("EINVAL", "accept", "not listening"),
    ("EINVAL", "bind", "already bound"),
    ("EINVAL", "setsockopt", "range"),
    ("EINTR", "close", "closed anyway"),
])
def test_call_specific_words(name: str, call: str, word: str) -> None:
    assert word in lookup(name).for_call(call)[0]


def test_family_picks_the_unix_meaning() -> None:
    info = lookup("ECONNREFUSED")
    assert "stale" in info.for_call("connect", "unix")[0]
    assert "stale" not in info.for_call("connect", "inet6")[0]
    assert "bind never replaces" in lookup("EADDRINUSE").for_call("bind", "unix")[0]


def test_step_ops_map_to_calls() -> None:
    assert [call_of(op) for op in ("sendto", "recvfrom", "expect", "socketpair", "bind")] == [
        "send", "recv", "expect", "socket", "bind"]
    assert lookup("EMSGSIZE").for_call("sendto") == lookup("EMSGSIZE").for_call("send")


def test_any_call_entry_applies_to_every_call() -> None:
    info = lookup("EBADF")
    assert info.for_call("recv") == info.for_call("bind") != (info.meaning, "")


def test_unwritten_call_falls_back_to_the_general_meaning() -> None:
    info = lookup("EPIPE")
    assert info.for_call("bind") == (info.meaning, info.hint)


@given(st.sampled_from(sorted(errno.errorcode)), st.sampled_from((*CALL_NAMES, "sendto", "x")))
def test_every_errno_number_has_an_entry_or_says_it_is_not_a_socket_error(
        number: int, call: str) -> None:
    info = lookup(number)
    meaning, hint = info.for_call(call)
    assert meaning and hint
    if info.name not in WORDS:
        assert not info.socket_error and "no socket call" in info.meaning


@given(st.integers(min_value=-(2**40), max_value=2**40), st.text(max_size=30))
def test_from_oserror_never_raises_on_any_number(number: int, text: str) -> None:
    info = from_oserror(OSError(number, text))
    assert info.name and info.meaning and info.hint


def test_resolver_errors_are_written_for_calls_that_take_an_address() -> None:
    info = lookup("EAI_NONAME")
    for call in ("bind", "connect", "sendto"):
        meaning, _hint = info.for_call(call)
        assert meaning.startswith("resolving the host name")
    assert info.for_call("listen") == (info.meaning, info.hint)


def test_enoent_on_setsockopt_is_the_congestion_algorithm() -> None:
    assert "TCP_CONGESTION" in lookup("ENOENT").for_call("setsockopt")[0]
    assert "Unix socket path" in lookup("ENOENT").for_call("connect", "unix")[0]


def test_an_expect_timeout_is_not_a_dead_connection() -> None:
    meaning = lookup("ETIMEDOUT").for_call("expect")[0]
    assert "did not arrive within the step's timeout" in meaning
    assert "retransmissions" not in meaning


def test_the_words_a_notification_shows_stay_short() -> None:
    """A notification shows the first clause of the meaning and of the hint."""
    from workbench.core.diagnosis import first_clause

    for name, calls in CALLS.items():
        for call, (meaning, hint) in calls.items():
            for text in (meaning, hint):
                assert len(first_clause(text)) <= 140, (name, call, first_clause(text))


def test_causes_naming_a_unix_path_are_left_out_for_ip_sockets() -> None:
    """One cause list serves both families; an IP connect is not told of socket files."""
    from workbench.core.errnos import for_family

    info = lookup("ECONNREFUSED")
    assert any("Unix" in c for c in info.causes)
    assert not any("Unix" in c for c in for_family(info.causes, "inet"))
    assert for_family(info.causes, "unix") == info.causes
