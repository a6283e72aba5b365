"""Properties of the connection table's parsers and formatting, over generated input."""

from __future__ import annotations

import ipaddress

from conn_samples import inet, unix
from hypothesis import given
from hypothesis import strategies as st

from workbench.core.conn_filter import parse_filter
from workbench.core.conntable import (
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    STATE_NAMES,
    address,
    address_column,
)
from workbench.core.errors import InputError

v4 = st.ip_addresses(v=4).map(str)
v6 = st.ip_addresses(v=6).map(str)
ports = st.integers(0, 65535)


@given(st.text(max_size=60))
def test_any_filter_text_parses_or_is_one_line_input_error(text: str) -> None:
    try:
        parse_filter(text)
    except InputError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400


@given(host=st.one_of(v4, v6), port=ports)
def test_addresses_read_back_as_the_same_address(host: str, port: int) -> None:
    row = inet(KIND_TCP, 10, host, port)
    text = address(row, True)
    shown_host, _, shown_port = text.rpartition(":")
    assert shown_port == (str(port) if port else "*")
    assert ipaddress.ip_address(shown_host.strip("[]")) == ipaddress.ip_address(host)
    assert shown_host.startswith("[") == (":" in host)


row_strategy = st.one_of(
    st.builds(lambda k, s, h, p, d, q: inet(k, s, h, p, d if (":" in d) == (":" in h) else "",
                                            q),
              st.sampled_from([KIND_TCP, KIND_UDP]), st.sampled_from(list(STATE_NAMES)),
              st.one_of(v4, v6), ports, st.one_of(v4, v6), ports),
    st.builds(lambda n, i, p: unix(KIND_UNIX, 1, n, i, p),
              st.binary(max_size=20), st.integers(1, 2**32 - 1), st.integers(0, 2**32 - 1)),
)


@given(st.lists(row_strategy, max_size=30), st.booleans())
def test_a_column_at_once_says_what_row_by_row_says(rows: list, local: bool) -> None:  # type: ignore[type-arg]
    hosts, ports = address_column(rows, local)
    assert [h + p for h, p in zip(hosts, ports, strict=True)] == [address(r, local) for r in rows]
    assert all(h.endswith((":", " ")) for h in hosts)
