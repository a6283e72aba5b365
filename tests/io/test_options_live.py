"""The option catalog against real sockets: every level and number must be accepted."""

import errno
import socket
from collections.abc import Callable

import pytest

from workbench.core.options import OptionSpec, options_for

SOCKETS = {
    ("inet", "stream"): (socket.AF_INET, socket.SOCK_STREAM),
    ("inet6", "stream"): (socket.AF_INET6, socket.SOCK_STREAM),
    ("inet", "dgram"): (socket.AF_INET, socket.SOCK_DGRAM),
}


def _round_trip(sock: socket.socket, spec: OptionSpec) -> str | None:
    """Read the option, write the same value back; return a problem or None."""
    value = sock.getsockopt(spec.level, spec.optname)
    sock.setsockopt(spec.level, spec.optname, value)
    again = sock.getsockopt(spec.level, spec.optname)
    if spec.kind == "bool" and bool(again) != bool(value):
        return f"{spec.name}: wrote {value}, read {again}"
    return None


def _check(family: str, sock_type: str, needs_privilege: list[str]) -> list[str]:
    problems = []
    with socket.socket(*SOCKETS[family, sock_type]) as sock:
        for spec in options_for(family, sock_type):
            if spec.readonly:
                continue
            try:
                problem = _round_trip(sock, spec)
            except OSError as exc:
                if exc.errno != errno.EPERM:
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
