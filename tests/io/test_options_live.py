"""The option catalog against real sockets: every level, number and codec is accepted,
and what is read back can be written again and reads the same."""

import errno
import socket
from collections.abc import Callable

import pytest

from workbench.core.options import GENERIC_WHY, OptionSpec, effective_why, options_for
from workbench.io.inspectors import available, get_option, set_option
from workbench.io.option_limits import read_limits

SOCKETS = {
    ("inet", "stream"): (socket.AF_INET, socket.SOCK_STREAM),
    ("inet6", "stream"): (socket.AF_INET6, socket.SOCK_STREAM),
    ("inet", "dgram"): (socket.AF_INET, socket.SOCK_DGRAM),
    ("inet6", "dgram"): (socket.AF_INET6, socket.SOCK_DGRAM),
    ("unix", "stream"): (socket.AF_UNIX, socket.SOCK_STREAM),
}
# Options whose current value cannot be written back as read, and why.
NOT_AS_READ = {
    "SO_INCOMING_CPU": "reads -1 before any packet, which cannot be set",
    "IPV6_MTU": "reads need a connected socket",
    "TCP_MAXSEG": "reads the segment size in use, which may be below the 88 it lets you set",
}



def _round_trip(sock: socket.socket, spec: OptionSpec) -> str | None:
    """Read the option, write the same value back; return a problem or None."""
    value = get_option(sock, spec)
    set_option(sock, spec, value)
    again = get_option(sock, spec)
    why = effective_why(spec, value, again, read_limits())
    if why == GENERIC_WHY:  # a difference nobody explains
        return f"{spec.name}: wrote {value!r}, read {again!r}"
    return None


def _check(family: str, sock_type: str, needs_privilege: list[str]) -> list[str]:
    problems = []
    with socket.socket(*SOCKETS[family, sock_type]) as sock:
        for spec in options_for(family, sock_type):
            if spec.readonly or spec.writeonly or spec.name in NOT_AS_READ:
                continue
            if not available(spec):  # an older kernel: ENOPROTOOPT
                continue
            try:
                problem = _round_trip(sock, spec)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EACCES):
                    problems.append(f"{family}/{sock_type} {spec.name}: {exc}")
                    continue
                needs_privilege.append(f"{family}/{sock_type} {spec.name}")
                problem = None
            if problem:
                problems.append(f"{family}/{sock_type} {problem}")
    return problems


def test_every_writable_option_round_trips(record_property: Callable[[str, object], None]) -> None:
    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6 support")
    needs_privilege: list[str] = []
    problems: list[str] = []
    for family, sock_type in SOCKETS:
        problems += _check(family, sock_type, needs_privilege)
    # Options refused for lack of privilege are recorded, not failed.
    skipped = ", ".join(needs_privilege) or "none"
    record_property("skipped_eperm", skipped)
    print(f"skipped with EPERM: {skipped}")
    assert not problems, "; ".join(problems)
