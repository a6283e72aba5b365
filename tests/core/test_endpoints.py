"""Endpoint parsing, canonical text, socket addresses and one-line errors."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.endpoints import (
    SUN_PATH_MAX,
    Endpoint,
    format_sockaddr,
    parse_endpoint,
)
from workbench.core.errors import InputError


def error_of(text: str, default_host: str | None = None) -> str:
    """The InputError message parse_endpoint raises, checked to be one line."""
    with pytest.raises(InputError) as info:
        parse_endpoint(text, default_host)
    message = str(info.value)
    assert message
    assert "\n" not in message and "\r" not in message
    return message


# -- accepted forms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "canonical"),
    [
        ("127.0.0.1:8080", Endpoint("inet", "127.0.0.1", 8080), "127.0.0.1:8080"),
        ("0.0.0.0:0", Endpoint("inet", "0.0.0.0", 0), "0.0.0.0:0"),
        ("10.0.0.1:65535", Endpoint("inet", "10.0.0.1", 65535), "10.0.0.1:65535"),
        ("  127.0.0.1:80 \n", Endpoint("inet", "127.0.0.1", 80), "127.0.0.1:80"),
        ("127.0.0.1:080", Endpoint("inet", "127.0.0.1", 80), "127.0.0.1:80"),
        ("[::1]:8080", Endpoint("inet6", "::1", 8080), "[::1]:8080"),
        ("[::]:0", Endpoint("inet6", "::", 0), "[::]:0"),
        ("[0:0::0:1]:80", Endpoint("inet6", "::1", 80), "[::1]:80"),
        ("[2001:DB8::1]:53", Endpoint("inet6", "2001:db8::1", 53), "[2001:db8::1]:53"),
        (
            "[fe80::1%lo]:80",
            Endpoint("inet6", "fe80::1", 80, scope="lo"),
            "[fe80::1%lo]:80",
        ),
        (
            "[fe80::1%2]:80",
            Endpoint("inet6", "fe80::1", 80, scope="2"),
            "[fe80::1%2]:80",
        ),
        ("localhost:80", Endpoint("host", "localhost", 80), "localhost:80"),
        ("example.test:443", Endpoint("host", "example.test", 443), "example.test:443"),
        ("Example.TEST:443", Endpoint("host", "example.test", 443), "example.test:443"),
        ("example.test.:443", Endpoint("host", "example.test.", 443), "example.test.:443"),
        ("a-b.c9:1", Endpoint("host", "a-b.c9", 1), "a-b.c9:1"),
        ("unix:/tmp/x.sock", Endpoint("unix", path="/tmp/x.sock"), "unix:/tmp/x.sock"),
        ("unix:relative/path", Endpoint("unix", path="relative/path"), "unix:relative/path"),
        ("UNIX:/x", Endpoint("unix", path="/x"), "unix:/x"),
        ("unix:/a b/ü.sock", Endpoint("unix", path="/a b/ü.sock"), "unix:/a b/ü.sock"),
        ("unix:@name", Endpoint("unix", path="name", abstract=True), "unix:@name"),
        ("unix:@a/b c", Endpoint("unix", path="a/b c", abstract=True), "unix:@a/b c"),
        ("unix:./@odd", Endpoint("unix", path="./@odd"), "unix:./@odd"),
        ("peer:echo", Endpoint("peer", "echo"), "peer:echo"),
        ("peer:http-1_b", Endpoint("peer", "http-1_b"), "peer:http-1_b"),
    ],
)
def test_accepted_forms(text: str, expected: Endpoint, canonical: str) -> None:
    endpoint = parse_endpoint(text)
    assert endpoint == expected
    assert str(endpoint) == canonical
    assert parse_endpoint(canonical) == endpoint


@pytest.mark.parametrize(
    ("text", "default_host", "expected"),
    [
        (":8080", "127.0.0.1", Endpoint("inet", "127.0.0.1", 8080)),
        ("8080", "127.0.0.1", Endpoint("inet", "127.0.0.1", 8080)),
        ("0", "0.0.0.0", Endpoint("inet", "0.0.0.0", 0)),
        (":80", "::1", Endpoint("inet6", "::1", 80)),
        ("80", "[::1]", Endpoint("inet6", "::1", 80)),
        ("80", "localhost", Endpoint("host", "localhost", 80)),
        ("10.1.1.1:80", "127.0.0.1", Endpoint("inet", "10.1.1.1", 80)),
    ],
)
def test_default_host(text: str, default_host: str, expected: Endpoint) -> None:
    assert parse_endpoint(text, default_host) == expected


def test_max_unix_path_and_abstract_name() -> None:
    path = "/" + "p" * (SUN_PATH_MAX - 1)
    assert parse_endpoint("unix:" + path).path == path
    name = "n" * SUN_PATH_MAX
    assert parse_endpoint("unix:@" + name).path == name


def test_max_hostname() -> None:
    name = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters
    assert parse_endpoint(f"{name}:1").host == name


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty endpoint: write host:port"),
        ("   ", "empty endpoint: write host:port"),
        ("127.0.0.1:70000", "port 70000 out of range: use 0-65535"),
        ("127.0.0.1:65536", "port 65536 out of range: use 0-65535"),
        ("127.0.0.1:" + "9" * 5000, "port 9999999999"),
        ("127.0.0.1:http", "port 'http' in '127.0.0.1:http' is not a number: use 0-65535"),
        ("127.0.0.1:-1", "port '-1' in '127.0.0.1:-1' is not a number"),
        ("127.0.0.1:\uff18\uff10", "port '\uff18\uff10' in '127.0.0.1:\uff18\uff10' is not"),
        ("127.0.0.1:", "missing port in '127.0.0.1:': add one, e.g. 127.0.0.1:8080"),
        ("127.0.0.1", "missing port in '127.0.0.1': add one, e.g. 127.0.0.1:8080"),
        ("localhost", "missing port in 'localhost': add one, e.g. localhost:8080"),
        (":8080", "missing host in ':8080': write e.g. 127.0.0.1:8080"),
        ("8080", "missing host in '8080': write e.g. 127.0.0.1:8080"),
        ("256.1.1.1:80", "bad IPv4 address '256.1.1.1' in '256.1.1.1:80': use four numbers"),
        ("1.2.3:80", "bad IPv4 address '1.2.3'"),
        ("01.2.3.4:80", "bad IPv4 address '01.2.3.4'"),
        (
            "::1:8080",
            "IPv6 address in '::1:8080' needs brackets when a port follows: write [::1]:8080",
        ),
        (
            "fe80::1%lo:80",
            "IPv6 address in 'fe80::1%lo:80' needs brackets when a port "
            "follows: write [fe80::1%lo]:80",
        ),
        ("::1", "IPv6 address '::1' needs brackets and a port: write [::1]:8080"),
        (
            "2001:db8::1",
            "IPv6 address '2001:db8::1' needs brackets and a port: write [2001:db8::1]:8080",
        ),
        ("a:b:c", "bad endpoint 'a:b:c': write host:port, [ipv6]:port"),
        ("[::1]", "missing port in '[::1]': add one, e.g. [::1]:8080"),
        ("[::1]:", "missing port in '[::1]:': add one, e.g. [::1]:8080"),
        ("[fe80::1%lo]", "missing port in '[fe80::1%lo]': add one, e.g. [fe80::1%lo]:8080"),
        ("Example.test", "missing port in 'Example.test': add one, e.g. example.test:8080"),
        ("bad host", "bad character ' ' in hostname 'bad host'"),
        ("0\r0", "bad character '\\r' in hostname"),
        (":http", "missing host in ':http': write e.g. 127.0.0.1:8080"),
        (":443", "missing host in ':443': write e.g. 127.0.0.1:443"),
        ("[::1]:99999", "port 99999 out of range: use 0-65535"),
        ("[::1", "missing ']' in '[::1': write e.g. [::1]:8080"),
        ("[::1]8080", "unexpected '8080' after ']' in '[::1]8080': write e.g. [::1]:8080"),
        ("[]:80", "bad IPv6 address '' in '[]:80': write e.g. [::1]:8080"),
        ("[zz::1]:80", "bad IPv6 address 'zz::1'"),
        (
            "[127.0.0.1]:80",
            "'127.0.0.1' in '[127.0.0.1]:80' is not IPv6: brackets are only "
            "for IPv6, write 127.0.0.1:PORT",
        ),
        ("[fe80::1%]:80", "bad IPv6 zone '' in '[fe80::1%]:80': use an interface name"),
        ("[fe80::1%a/b]:80", "bad IPv6 zone 'a/b'"),
        ("[fe80::1%abcdefghijklmnop]:80", "bad IPv6 zone 'abcdefghijklmnop'"),
        ("[fe80::1%4294967296]:80", "IPv6 zone index 4294967296 in"),
        (
            "ex ample:80",
            "bad character ' ' in hostname 'ex ample' of 'ex ample:80': use "
            "letters, digits, '-' and '.'",
        ),
        ("my_db:5432", "bad character '_' in hostname 'my_db'"),
        ("bücher.test:80", "bad character 'ü' in hostname 'bücher.test'"),
        ("\u212a:80", "bad character '\u212a'"),
        ("a..b:80", "empty label in hostname 'a..b': remove the extra '.'"),
        (".:80", "empty label in hostname '.'"),
        ("-a.test:80", "label '-a' in hostname '-a.test' starts or ends with '-'"),
        ("a-.test:80", "label 'a-' in hostname 'a-.test' starts or ends with '-'"),
        ("a" * 64 + ".test:80", "label 'aaaa"),
        ("unix:", "missing path in 'unix:': write unix:/path/to.sock or unix:@name"),
        ("unix:@", "empty abstract name in 'unix:@': write e.g. unix:@workbench"),
        ("unix:/a\x00b", "unix path in 'unix:/a\\x00b' contains a NUL character: remove it"),
        ("peer:", "missing peer name in 'peer:': write e.g. peer:echo"),
        ("peer:a b", "bad peer name 'a b' in 'peer:a b': use letters, digits"),
        ("peer:échø", "bad peer name 'échø'"),
    ],
)
def test_errors(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_long_hostname() -> None:
    name = ".".join(["a" * 63] * 4)  # 255 characters
    message = error_of(f"{name}:80")
    assert "is 255 characters, over the limit of 253" in message
    assert "use a shorter name or an IP address" in message


def test_long_label_message() -> None:
    assert "is 64 characters, over the limit of 63" in error_of("a" * 64 + ".test:80")


def test_unix_path_too_long() -> None:
    path = "/" + "p" * SUN_PATH_MAX  # 108 bytes
    message = error_of("unix:" + path)
    assert message.startswith("unix path '/ppp")
    assert "is 108 bytes, over the limit of 107 (108 with the final NUL)" in message
    assert "use a shorter path" in message


def test_unix_path_limit_counts_utf8_bytes() -> None:
    path = "/" + "é" * 54  # 55 characters, 109 bytes
    assert "is 109 bytes" in error_of("unix:" + path)


def test_abstract_name_too_long() -> None:
    message = error_of("unix:@" + "n" * (SUN_PATH_MAX + 1))
    assert message.startswith("abstract name 'nnn")
    assert "is 108 bytes, over the limit of 107: use a shorter name" in message


def test_default_host_errors_are_input_errors() -> None:
    assert error_of("80", "bad!host").startswith("bad character '!'")
    assert error_of("70000", "127.0.0.1") == "port 70000 out of range: use 0-65535"


def test_long_input_is_clipped_in_messages() -> None:
    message = error_of("x:" * 500)
    assert len(message) < 200


@given(st.text(max_size=60), st.sampled_from([None, "127.0.0.1", "::1"]))
def test_only_input_errors_and_one_line(text: str, default_host: str | None) -> None:
    try:
        endpoint = parse_endpoint(text, default_host)
    except InputError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)
    else:
        assert parse_endpoint(str(endpoint)) == endpoint


# -- sockaddr and family_name ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sockaddr", "family"),
    [
        ("127.0.0.1:80", ("127.0.0.1", 80), "inet"),
        ("[::1]:80", ("::1", 80, 0, 0), "inet6"),
        ("[fe80::1%7]:80", ("fe80::1", 80, 0, 7), "inet6"),
        ("[fe80::1%lo]:80", ("fe80::1", 80, 0, 0), "inet6"),
        ("unix:/tmp/x.sock", "/tmp/x.sock", "unix"),
        ("unix:@name", "\0name", "unix"),
    ],
)
def test_sockaddr(text: str, sockaddr: object, family: str) -> None:
    endpoint = parse_endpoint(text)
    assert endpoint.sockaddr() == sockaddr
    assert endpoint.family_name == family


def test_sockaddr_resolved_scope_id() -> None:
    endpoint = parse_endpoint("[fe80::1%eth0]:80")
    assert endpoint.sockaddr(scope_id=3) == ("fe80::1", 80, 0, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:80", "'localhost:80' names a host, not an address: resolve it first"),
        ("peer:echo", "'peer:echo' names a built-in peer: start the peer"),
    ],
)
def test_sockaddr_unresolved(text: str, expected: str) -> None:
    endpoint = parse_endpoint(text)
    assert endpoint.family_name == ""
    with pytest.raises(InputError, match="^" + expected):
        endpoint.sockaddr()


def test_endpoint_is_frozen_and_hashable() -> None:
    endpoint = parse_endpoint("127.0.0.1:80")
    assert {endpoint: 1}[Endpoint("inet", "127.0.0.1", 80)] == 1
    with pytest.raises(AttributeError):
        endpoint.port = 81  # type: ignore[misc]


def test_str_of_relative_path_starting_with_at() -> None:
    endpoint = Endpoint("unix", path="@file")
    assert str(endpoint) == "unix:./@file"
    assert parse_endpoint(str(endpoint)).abstract is False


# -- format_sockaddr -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "addr", "expected"),
    [
        (socket.AF_INET, ("127.0.0.1", 8080), "127.0.0.1:8080"),
        (socket.AF_INET6, ("::1", 8080, 0, 0), "[::1]:8080"),
        (socket.AF_INET6, ("::1", 8080), "[::1]:8080"),
        (socket.AF_INET6, ("fe80::1", 80, 0, 2), "[fe80::1%2]:80"),
        (socket.AF_INET6, ("fe80::1%lo", 80, 0, 1), "[fe80::1%lo]:80"),
        (socket.AF_UNIX, "/tmp/x.sock", "unix:/tmp/x.sock"),
        (socket.AF_UNIX, "rel.sock", "unix:rel.sock"),
        (socket.AF_UNIX, "@rel", "unix:./@rel"),
        (socket.AF_UNIX, "\0name", "unix:@name"),
        (socket.AF_UNIX, b"\0name", "unix:@name"),
        (socket.AF_UNIX, b"\0", "unix:@"),
        (socket.AF_UNIX, "", "unix:"),
        (socket.AF_UNIX, b"", "unix:"),
        (socket.AF_UNIX, b"\0a\x00b\xff\n", "unix:@a\\x00b\\xff\\n"),
        (socket.AF_UNIX, "/tmp/\udcff", "unix:/tmp/\\xff"),
    ],
)
def test_format_sockaddr(family: int, addr: object, expected: str) -> None:
    assert format_sockaddr(family, addr) == expected


def test_format_sockaddr_other_family_is_one_line() -> None:
    text = format_sockaddr(-1, ("lo", 2048, 0, 772, b"\n"))
    assert "\n" not in text


# -- properties ------------------------------------------------------------------------

_ports = st.integers(0, 65535)
_label = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_scope_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,14}", fullmatch=True)
_scope_index = st.integers(1, 0xFFFFFFFF).map(str)
_path_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")


def _fits(path: str) -> bool:
    return 0 < len(path.encode()) <= SUN_PATH_MAX and path == path.rstrip()


inet = st.builds(lambda ip, port: Endpoint("inet", str(ip), port), st.ip_addresses(v=4), _ports)
inet6 = st.builds(
    lambda ip, port, scope: Endpoint("inet6", ip.compressed, port, scope),
    st.ip_addresses(v=6),
    _ports,
    st.one_of(st.just(""), _scope_name, _scope_index),
)
hosts = st.builds(
    lambda labels, port: Endpoint("host", ".".join(labels), port),
    st.lists(_label, min_size=1, max_size=4),
    _ports,
)
unix_paths = st.builds(
    lambda path: Endpoint("unix", path=path),
    st.text(_path_chars, min_size=1, max_size=60).filter(
        lambda p: _fits(p) and not p.startswith("@")
    ),
)
abstract = st.builds(
    lambda name: Endpoint("unix", path=name, abstract=True),
    st.text(_path_chars, min_size=1, max_size=60).filter(_fits),
)
peers = st.builds(
    lambda name: Endpoint("peer", name),
    st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
)
endpoints = st.one_of(inet, inet6, hosts, unix_paths, abstract, peers)


@given(endpoints)
def test_canonical_str_round_trip(endpoint: Endpoint) -> None:
    text = str(endpoint)
    assert "\n" not in text or endpoint.kind == "unix"
    assert parse_endpoint(text) == endpoint


_FAMILIES = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unix": socket.AF_UNIX}


@given(st.one_of(inet, inet6.filter(lambda e: not e.scope or e.scope.isdecimal())))
def test_format_sockaddr_round_trip_ip(endpoint: Endpoint) -> None:
    family = _FAMILIES[endpoint.family_name]
    assert parse_endpoint(format_sockaddr(family, endpoint.sockaddr())) == endpoint


@given(st.one_of(unix_paths, abstract).filter(lambda e: str(e).isprintable()))
def test_format_sockaddr_round_trip_unix(endpoint: Endpoint) -> None:
    assert parse_endpoint(format_sockaddr(socket.AF_UNIX, endpoint.sockaddr())) == endpoint


@given(st.ip_addresses(v=6), _ports)
def test_inet6_host_is_compressed(ip: ipaddress.IPv6Address, port: int) -> None:
    endpoint = parse_endpoint(f"[{ip.exploded}]:{port}")
    assert endpoint.host == ip.compressed
