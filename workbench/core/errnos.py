"""What each errno means for a socket call, and what to try next.

Numbers and messages come from this platform's `errno` module and `os.strerror`;
the words are written for Linux (errno_words in general, errno_calls per call,
errno_table for causes, fixes, hard or soft and other platforms' numbers). Resolver
failures (`socket.gaierror`) get their own EAI_* entries with the negative numbers
Python uses. Every errno this platform names has an entry; those that are not socket
errors say so (`socket_error` False) instead of failing.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass, replace
from functools import cache

from workbench.core.errno_calls import ANY, CALLS, call_of
from workbench.core.errno_table import CAUSES, PORTS, Causes, Port
from workbench.core.errno_words import GAI_ERRORS, SOCKET_ERRNOS

FALLBACK_HINT = "see the man page of the call"
_NO_PORT = Port(False)
_NO_CAUSES = Causes((), ())


@dataclass(frozen=True)
class ErrnoInfo:
    name: str  # "ECONNREFUSED"
    number: int  # 111 on Linux; EAI_* entries are negative
    message: str  # the platform's own text, "Connection refused"
    meaning: str  # one line: what it means for a socket call, in general
    hint: str  # one line: what to try
    calls: tuple[tuple[str, str, str], ...] = ()  # (call, meaning, hint); call "*": any
    causes: tuple[str, ...] = ()  # likely causes, most common first
    fixes: tuple[str, ...] = ()
    port: Port = _NO_PORT  # hard or soft, Winsock and BSD spellings
    related: tuple[str, ...] = ()  # socket options worth knowing about
    socket_error: bool = True  # False for errnos no socket call returns

    @property
    def soft(self) -> bool:
        """A retry of the same call, with nothing changed, may succeed."""
        return self.port.soft

    def for_call(self, op: str, family: str = "") -> tuple[str, str]:
        """(meaning, hint) for the call an op makes on a socket of the family ("inet",
        "inet6", "unix" or ""); the general ones where nothing is written for it."""
        call = call_of(op)
        fam = {"inet": "inet", "inet6": "inet", "unix": "unix"}.get(family, "")
        words = {name: (meaning, hint) for name, meaning, hint in self.calls}
        for key in (f"{call}/{fam}" if fam else "", call, ANY):
            if key in words:
                return words[key]
        return self.meaning, self.hint

    def elsewhere(self) -> str:
        """Its Winsock name and number, and the FreeBSD and macOS numbers where they
        differ from Linux's; "" when there is nothing to add."""
        port, parts = self.port, []
        if port.winsock:
            parts.append(f"Winsock {port.winsock} {port.winsock_number}")
        if port.freebsd is not None and port.freebsd == port.macos:
            parts.append(f"FreeBSD and macOS {port.freebsd}")
        else:
            parts += [f"{os_} {n}" for os_, n in (("FreeBSD", port.freebsd),
                                                 ("macOS", port.macos)) if n is not None]
        return "; ".join(parts)

    def call_names(self) -> tuple[str, ...]:
        """The calls this errno is written for ("*": any call on a descriptor)."""
        return tuple(name for name, _m, _h in self.calls)


# OSErrors Python raises itself, without an errno.
_PYTHON_MESSAGES = {"AF_UNIX path too long": "ENAMETOOLONG"}

_PYTHON_TIMEOUT = (
    "the call did not finish within the socket's own timeout (settimeout); the "
    "kernel itself reported no error",
    "raise the timeout or wait for the peer; a connect cut short this way may "
    "still complete in the background",
)


def _details(name: str) -> dict[str, object]:
    """The per-call words, causes, fixes and portability of an entry."""
    causes = CAUSES.get(name, _NO_CAUSES)
    calls = tuple((call, m, h) for call, (m, h) in CALLS.get(name, {}).items())
    return {"calls": calls, "causes": causes.causes, "fixes": causes.fixes,
            "port": PORTS.get(name, _NO_PORT), "related": causes.related}


def _specific(name: str, number: int) -> ErrnoInfo:
    meaning, hint = SOCKET_ERRNOS[name]
    return ErrnoInfo(name, number, os.strerror(number), meaning, hint, **_details(name))


def _generic(name: str, number: int) -> ErrnoInfo:
    message = os.strerror(number)
    meaning = (f"the call failed: {message[:1].lower()}{message[1:]}; no socket call "
               "returns this on Linux, so it likely comes from elsewhere")
    return ErrnoInfo(name, number, message, meaning, FALLBACK_HINT, socket_error=False)


@cache
def _by_number() -> dict[int, ErrnoInfo]:
    """Every errno of this platform, specific entries where written."""
    table = {n: _generic(name, n) for n, name in errno.errorcode.items()}
    for name in SOCKET_ERRNOS:
        number = getattr(errno, name, None)
        if number is not None:
            table[number] = _specific(name, number)
    return table


@cache
def _gai_by_number() -> dict[int, ErrnoInfo]:
    table: dict[int, ErrnoInfo] = {}
    for name, (message, meaning, hint) in GAI_ERRORS.items():
        number = getattr(socket, name, None)
        if number is not None:
            table[number] = ErrnoInfo(name, number, message, meaning, hint, **_details(name))
    return table


@cache
def _by_name() -> dict[str, ErrnoInfo]:
    table = {info.name: info for info in _gai_by_number().values()}
    table.update({info.name: info for info in _by_number().values()})
    # Other spellings of a number (EWOULDBLOCK, ENOTSUP) give the canonical entry.
    for name, number in vars(errno).items():
        if name.startswith("E") and isinstance(number, int) and name not in table:
            table[name] = _by_number()[number]
    return table


def _lookup_number(number: int) -> ErrnoInfo:
    table = _gai_by_number() if number < 0 else _by_number()
    return table[number]


def for_family(texts: tuple[str, ...], family: str) -> tuple[str, ...]:
    """Causes or fixes that can hold for a socket of this family: those naming a Unix
    socket path are left out for IP sockets (one list serves both families)."""
    if family not in ("inet", "inet6"):
        return texts
    return tuple(t for t in texts if "Unix" not in t)


def lookup(key: int | str) -> ErrnoInfo:
    """Find by number (111, "111"; negative for EAI_*) or by name, any case."""
    if isinstance(key, int):
        return _lookup_number(key)
    text = key.strip()
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit() and len(digits) <= 10:  # not "1_1" or "٣"
        return _lookup_number(int(text))
    return _by_name()[text.upper()]


def all_errnos() -> list[ErrnoInfo]:
    """Every errno number of this platform, by number."""
    return sorted(_by_number().values(), key=lambda info: info.number)


def gai_errors() -> list[ErrnoInfo]:
    """The resolver (getaddrinfo) failures, by name."""
    return sorted(_gai_by_number().values(), key=lambda info: info.name)


def _from_gaierror(exc: socket.gaierror) -> ErrnoInfo:
    info = _gai_by_number().get(exc.errno) if exc.errno is not None else None
    if info is None:
        number = exc.errno or 0
        message = exc.strerror or str(exc)
        return ErrnoInfo("EAI_UNKNOWN", number, message, "name resolution failed", FALLBACK_HINT)
    return replace(info, message=exc.strerror) if exc.strerror else info


def _without_errno(exc: OSError) -> ErrnoInfo:
    if isinstance(exc, TimeoutError):
        meaning, hint = _PYTHON_TIMEOUT
        return replace(_by_name()["ETIMEDOUT"], meaning=meaning, hint=hint)
    name = _PYTHON_MESSAGES.get(str(exc))
    if name is not None:
        return _by_name()[name]
    return ErrnoInfo("EUNKNOWN", 0, str(exc), "the call failed without an errno", FALLBACK_HINT)


def from_oserror(exc: OSError) -> ErrnoInfo:
    """Explain an exception raised by a socket call; never raises."""
    if isinstance(exc, socket.gaierror):
        return _from_gaierror(exc)
    if exc.errno is None:
        return _without_errno(exc)
    info = _by_number().get(exc.errno)
    if info is None:
        message = exc.strerror or str(exc)
        meaning = "the call failed with an errno this platform does not name"
        return ErrnoInfo(f"E{exc.errno}", exc.errno, message, meaning, FALLBACK_HINT)
    return info
