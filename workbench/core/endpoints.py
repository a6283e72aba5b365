"""Endpoints as people type them (`127.0.0.1:80`, `[::1]:80`, `unix:@name`, `peer:echo`).

Parsing never resolves names: a hostname becomes kind "host" and a built-in peer kind
"peer"; the io layer turns those into addresses. Every error is an InputError whose
message is one line: what was wrong (quoting the input), then what to do.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, replace
from typing import Any

from workbench.core.errors import InputError

KINDS = ("inet", "inet6", "unix", "host", "peer")
SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes; a path needs its NUL, a name its '\0'
HOSTNAME_MAX = 253
SCOPE_ID_MAX = 0xFFFFFFFF

_FAMILY_NAMES = {"inet": "inet", "inet6": "inet6", "unix": "unix"}
_AF_UNIX = getattr(socket, "AF_UNIX", None)
_FORMS = "write host:port, [ipv6]:port, unix:/path, unix:@name or peer:NAME"
_DIGITS = re.compile(r"[0-9]+")
_IPV4ISH = re.compile(r"[0-9.]*[0-9][0-9.]*")  # digits and dots: meant as IPv4
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_LABEL_CHAR = re.compile(r"[^A-Za-z0-9-]")
_PEER_NAME = re.compile(r"[A-Za-z0-9_-]+")
_SCOPE = re.compile(r"[A-Za-z0-9_.-]{1,15}")  # interface name (IFNAMSIZ - 1) or index


def _clip(text: str, limit: int = 80) -> str:
    """Shorten text so an error message stays readable."""
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Endpoint:
    """One address; build it with parse_endpoint so the fields are valid."""

    kind: str  # one of KINDS
    host: str = ""  # IP literal (no brackets), hostname (kind host) or peer name (kind peer)
    port: int = 0
    scope: str = ""  # IPv6 zone: interface name or index
    path: str = ""  # unix path; for abstract sockets the name without '@'
    abstract: bool = False

    def __str__(self) -> str:
        """Canonical text that parse_endpoint reads back to an equal Endpoint."""
        if self.kind == "inet6":
            zone = f"%{self.scope}" if self.scope else ""
            return f"[{self.host}{zone}]:{self.port}"
        if self.kind == "unix":
            return "unix:@" + self.path if self.abstract else _unix_text(self.path)
        if self.kind == "peer":
            return f"peer:{self.host}"
        return f"{self.host}:{self.port}"

    def sockaddr(self, scope_id: int | None = None) -> tuple[Any, ...] | str:
        """The address Python's socket module takes.

        A named IPv6 zone needs an interface lookup, which is I/O: the caller passes
        its index as scope_id; a numeric zone is used as is.
        """
        if self.kind == "inet":
            return (self.host, self.port)
        if self.kind == "inet6":
            if scope_id is None:
                scope_id = int(self.scope) if self.scope.isdecimal() else 0
            return (self.host, self.port, 0, scope_id)
        if self.kind == "unix":
            return "\0" + self.path if self.abstract else self.path
        raise _unresolved(self)

    @property
    def family_name(self) -> str:
        """'inet', 'inet6' or 'unix'; '' while a host or peer is still unresolved."""
        return _FAMILY_NAMES.get(self.kind, "")


def _unix_text(path: str) -> str:
    # A relative path starting with '@' would read back as an abstract name.
    return "unix:./" + path if path.startswith("@") else "unix:" + path


def _unresolved(ep: Endpoint) -> InputError:
    if ep.kind == "host":
        return InputError(
            f"{str(ep)!r} names a host, not an address: resolve it first or use an IP address"
        )
    if ep.kind == "peer":
        return InputError(f"{str(ep)!r} names a built-in peer: start the peer and use its address")
    return InputError(f"unknown endpoint kind {ep.kind!r}: use one of {', '.join(KINDS)}")


# -- parsing ---------------------------------------------------------------------------


def parse_endpoint(text: str, default_host: str | None = None) -> Endpoint:
    """Parse an endpoint; with default_host, `8080` and `:8080` mean that host."""
    t = text.strip()
    if not t:
        raise InputError(f"empty endpoint: {_FORMS}")
    scheme, sep, rest = t.partition(":")
    if sep and scheme.lower() == "unix":
        return _parse_unix(rest, t)
    if sep and scheme.lower() == "peer":
        return _parse_peer(rest, t)
    if t.startswith("["):
        return _parse_bracketed(t)
    if t.count(":") > 1:
        raise _unbracketed_ipv6(t)
    return _parse_host_port(t, default_host)


def _parse_host_port(t: str, default_host: str | None) -> Endpoint:
    host, sep, port_text = t.rpartition(":")
    if not sep:
        host, port_text = ("", t) if _DIGITS.fullmatch(t) else (t, "")
    if not host:
        if default_host is None:
            hint = port_text if _DIGITS.fullmatch(port_text) and len(port_text) <= 5 else "8080"
            raise InputError(f"missing host in {_clip(t)!r}: write e.g. 127.0.0.1:{hint}")
        host = default_host
    return _with_port(_parse_address(host, t), port_text, t)


def _parse_address(host: str, whole: str) -> Endpoint:
    """The host part alone (port 0): IPv4, IPv6 (from a default_host) or a hostname."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # a bracketed default_host
    if ":" in host:
        address, scope = _parse_ipv6(host, whole)
        return Endpoint("inet6", address, scope=scope)
    if _IPV4ISH.fullmatch(host):
        return Endpoint("inet", _parse_ipv4(host, whole))
    return Endpoint("host", _parse_hostname(host, whole))


def _with_port(address: Endpoint, port_text: str, whole: str) -> Endpoint:
    if not port_text:
        # The example is built from validated parts, never from raw input.
        example = replace(address, port=8080)
        raise InputError(f"missing port in {_clip(whole)!r}: add one, e.g. {example}")
    return replace(address, port=_parse_port(port_text, whole))


def _parse_bracketed(t: str) -> Endpoint:
    inner, sep, after = t[1:].partition("]")
    if not sep:
        raise InputError(f"missing ']' in {_clip(t)!r}: write e.g. [::1]:8080")
    address, scope = _parse_ipv6(inner, t)
    if after and not after.startswith(":"):
        raise InputError(
            f"unexpected {_clip(after)!r} after ']' in {_clip(t)!r}: write e.g. [::1]:8080"
        )
    return _with_port(Endpoint("inet6", address, scope=scope), after[1:], t)


def _unbracketed_ipv6(t: str) -> InputError:
    head, _, tail = t.rpartition(":")
    if _is_ipv6(head) and _DIGITS.fullmatch(tail):
        also = f", or [{t}]:PORT if {tail} is part of the address" if _is_ipv6(t) else ""
        return InputError(
            f"IPv6 address in {t!r} needs brackets when a port follows: write [{head}]:{tail}"
            + also
        )
    if _is_ipv6(t):
        return InputError(f"IPv6 address {t!r} needs brackets and a port: write [{t}]:8080")
    return InputError(f"bad endpoint {_clip(t)!r}: {_FORMS}")


def _is_ipv6(text: str) -> bool:
    address, pct, scope = text.partition("%")
    if pct and not _SCOPE.fullmatch(scope):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def _parse_ipv6(inner: str, whole: str) -> tuple[str, str]:
    """(compressed address, zone) from the text between brackets."""
    address, pct, scope = inner.partition("%")
    if _IPV4ISH.fullmatch(address):
        raise InputError(
            f"{address!r} in {_clip(whole)!r} is not IPv6: brackets are only for IPv6, "
            f"write {address}:PORT"
        )
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        raise InputError(
            f"bad IPv6 address {_clip(address)!r} in {_clip(whole)!r}: "
            "write e.g. [::1]:8080 or [fe80::1%eth0]:80"
        ) from None
    if pct:
        _check_scope(scope, whole)
    return ip.compressed, scope


def _check_scope(scope: str, whole: str) -> None:
    if not _SCOPE.fullmatch(scope):
        raise InputError(
            f"bad IPv6 zone {_clip(scope)!r} in {_clip(whole)!r}: "
            "use an interface name or index, e.g. [fe80::1%eth0]:80"
        )
    if scope.isdecimal() and int(scope) > SCOPE_ID_MAX:
        raise InputError(
            f"IPv6 zone index {scope} in {_clip(whole)!r} is too big: use an interface index "
            f"up to {SCOPE_ID_MAX} or an interface name"
        )


def _parse_ipv4(host: str, whole: str) -> str:
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        raise InputError(
            f"bad IPv4 address {_clip(host)!r} in {_clip(whole)!r}: "
            "use four numbers 0-255 without leading zeros, e.g. 127.0.0.1"
        ) from None


def _parse_hostname(host: str, whole: str) -> str:
    """Lower-cased hostname; a trailing '.' (fully qualified) is kept."""
    bare = host.removesuffix(".")
    if len(bare) > HOSTNAME_MAX:
        raise InputError(
            f"hostname {_clip(host)!r} is {len(bare)} characters, over the limit of "
            f"{HOSTNAME_MAX}: use a shorter name or an IP address"
        )
    for label in bare.split("."):
        if not _LABEL.fullmatch(label):
            raise _bad_label(label, host, whole)
    return host.lower()  # only after the ASCII check: lower() maps some non-ASCII to ASCII


def _bad_label(label: str, host: str, whole: str) -> InputError:
    shown = _clip(host)
    if not label:
        return InputError(f"empty label in hostname {shown!r}: remove the extra '.'")
    bad = _LABEL_CHAR.search(label)
    if bad:
        return InputError(
            f"bad character {bad.group()!r} in hostname {shown!r} of {_clip(whole)!r}: "
            "use letters, digits, '-' and '.'"
        )
    if len(label) > 63:
        return InputError(
            f"label {_clip(label)!r} in hostname is {len(label)} characters, over the "
            "limit of 63: shorten it"
        )
    return InputError(
        f"label {label!r} in hostname {shown!r} starts or ends with '-': "
        "begin and end each label with a letter or digit"
    )


def _parse_port(text: str, whole: str) -> int:
    if not _DIGITS.fullmatch(text):
        raise InputError(f"port {_clip(text)!r} in {_clip(whole)!r} is not a number: use 0-65535")
    if len(text.lstrip("0")) > 5 or int(text) > 65535:
        raise InputError(f"port {_clip(text)} out of range: use 0-65535")
    return int(text)


def _parse_unix(rest: str, whole: str) -> Endpoint:
    if not rest:
        raise InputError(
            f"missing path in {_clip(whole)!r}: write unix:/path/to.sock or unix:@name"
        )
    if "\0" in rest:
        raise InputError(f"unix path in {_clip(whole)!r} contains a NUL character: remove it")
    abstract = rest.startswith("@")
    path = rest[1:] if abstract else rest
    if abstract and not path:
        raise InputError(f"empty abstract name in {_clip(whole)!r}: write e.g. unix:@workbench")
    _check_sun_path(path, abstract, whole)
    return Endpoint("unix", path=path, abstract=abstract)


def _check_sun_path(path: str, abstract: bool, whole: str) -> None:
    try:
        size = len(path.encode("utf-8", "surrogateescape"))  # as the socket module does
    except UnicodeEncodeError:
        raise InputError(
            f"unix path in {_clip(whole)!r} has a character with no byte form: remove it"
        ) from None
    if size <= SUN_PATH_MAX:
        return
    if abstract:
        raise InputError(
            f"abstract name {_clip(path)!r} is {size} bytes, over the limit of "
            f"{SUN_PATH_MAX}: use a shorter name"
        )
    raise InputError(
        f"unix path {_clip(path)!r} is {size} bytes, over the limit of {SUN_PATH_MAX} "
        f"({SUN_PATH_MAX + 1} with the final NUL): use a shorter path, e.g. under /tmp"
    )


def _parse_peer(rest: str, whole: str) -> Endpoint:
    if not rest:
        raise InputError(f"missing peer name in {_clip(whole)!r}: write e.g. peer:echo")
    if not _PEER_NAME.fullmatch(rest):
        raise InputError(
            f"bad peer name {_clip(rest)!r} in {_clip(whole)!r}: "
            "use letters, digits, '_' or '-', e.g. peer:echo"
        )
    return Endpoint("peer", host=rest)


# -- formatting addresses the socket module returns --------------------------------------


def format_sockaddr(family: int, addr: Any) -> str:
    """Canonical text for an address from getsockname/getpeername/recvfrom/accept."""
    if family == socket.AF_INET:
        return f"{addr[0]}:{addr[1]}"
    if family == socket.AF_INET6:
        return _format_inet6(addr)
    if _AF_UNIX is not None and family == _AF_UNIX:
        return _format_unix(addr)
    return repr(addr)  # other families (packet, netlink) have no text form yet


def _format_inet6(addr: tuple[Any, ...]) -> str:
    host, port = addr[0], addr[1]
    scope_id = addr[3] if len(addr) > 3 else 0
    if scope_id and "%" not in host:  # some platforms already append the zone name
        host = f"{host}%{scope_id}"
    return f"[{host}]:{port}"


def _format_unix(addr: str | bytes) -> str:
    raw = addr.encode("utf-8", "surrogateescape") if isinstance(addr, str) else bytes(addr)
    if raw.startswith(b"\0"):
        return "unix:@" + _show_path(raw[1:])
    if not raw:
        return "unix:"  # unnamed: socketpair ends, unbound clients
    return _unix_text(_show_path(raw))


def _show_path(raw: bytes) -> str:
    """Path bytes as one printable line; invalid UTF-8 and control bytes become escapes."""
    text = raw.decode("utf-8", "backslashreplace")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
