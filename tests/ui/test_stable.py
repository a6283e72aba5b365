"""Stable screenshots: real ports written as their fakes, in addresses only."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style

from workbench.ui.stable import PEER_PORT, REFUSED_PORT, SOCKET_PORT, FakePorts


def fakes(**ports: int) -> FakePorts:
    fake = FakePorts()
    for real, shown in ports.items():
        fake.add(int(real.lstrip("p")), shown)
    return fake


def test_ports_in_svg_text() -> None:
    fake = fakes(p40123=PEER_PORT, p51234=SOCKET_PORT)
    svg = ('<text class="terminal-r1" x="0" y="20" textLength="12.2">'
           "#1&#160;tcp4&#160;connected&#160;127.0.0.1:51234&#160;→&#160;127.0.0.1:40123"
           "</text><text>[::1]:40123,&#160;localhost:51234)</text>")
    assert fake.text(svg) == (
        '<text class="terminal-r1" x="0" y="20" textLength="12.2">'
        f"#1&#160;tcp4&#160;connected&#160;127.0.0.1:{SOCKET_PORT}&#160;→&#160;"
        f"127.0.0.1:{PEER_PORT}</text><text>[::1]:{PEER_PORT},&#160;localhost:{SOCKET_PORT})"
        "</text>")
    assert len(fake.text(svg)) == len(svg)


def test_several_ports_and_repeats() -> None:
    fake = fakes(p33333=PEER_PORT, p44444=PEER_PORT + 1, p55555=REFUSED_PORT)
    text = "peer=127.0.0.1:33333, local=127.0.0.1:44444; 127.0.0.1:55555 127.0.0.1:33333"
    assert fake.text(text) == (f"peer=127.0.0.1:{PEER_PORT}, local=127.0.0.1:{PEER_PORT + 1}; "
                               f"127.0.0.1:{REFUSED_PORT} 127.0.0.1:{PEER_PORT}")


def test_a_port_inside_other_digits_stays() -> None:
    fake = fakes(p40123=PEER_PORT)
    for text in ("127.0.0.1:401234", "127.0.0.1:140123", "1240123", "40123", "x 40123 B",
                 ":40123", " :40123", "sent 40123B", "127.0.0.1:4012"):
        assert fake.text(text) == text, text
    assert fake.text("127.0.0.1:40123.") == f"127.0.0.1:{PEER_PORT}."


def test_unknown_ports_stay() -> None:
    fake = fakes(p40123=PEER_PORT)
    text = "peer=127.0.0.1:34349, local=127.0.0.1:42256"  # a recorded session's ports
    assert fake.text(text) == text
    assert FakePorts().text("127.0.0.1:40123") == "127.0.0.1:40123"


def test_ports_must_have_five_digits() -> None:
    fake = FakePorts()
    with pytest.raises(ValueError, match="not 5 digits"):
        fake.add(8080, PEER_PORT)
    with pytest.raises(ValueError, match="not 5 digits"):
        fake.add(40123, 4700)
    with pytest.raises(ValueError, match="not 5 digits"):
        fake.assign(123, SOCKET_PORT)


def test_a_fake_names_one_port() -> None:
    fake = fakes(p40123=PEER_PORT)
    fake.add(40123, PEER_PORT)  # again: the same
    with pytest.raises(ValueError, match="already shown"):
        fake.add(40123, SOCKET_PORT)
    with pytest.raises(ValueError, match="another port"):
        fake.add(40124, PEER_PORT)


def test_assign_takes_the_first_free_fake_from_its_base() -> None:
    fake = FakePorts()
    assert fake.assign(50001, PEER_PORT) == PEER_PORT
    assert fake.assign(50002, PEER_PORT) == PEER_PORT + 1
    assert fake.assign(50001, SOCKET_PORT) == PEER_PORT  # known: kept
    assert fake.assign(50003, SOCKET_PORT) == SOCKET_PORT
    assert 50003 in fake and fake[50003] == SOCKET_PORT


def test_segments_keep_their_cuts_and_styles() -> None:
    fake = fakes(p40123=PEER_PORT)
    bold, dim = Style(bold=True), Style(dim=True)
    segments = [Segment("to 127.0.0.1", bold), Segment(":401", dim), Segment("23 ok\n"),
                Segment("", None, [(1,)]), Segment("127.0.0.1:40123", bold)]  # type: ignore[list-item]
    out = fake.segments(segments)
    assert [s.text for s in out] == ["to 127.0.0.1", f":{str(PEER_PORT)[:3]}",
                                     f"{str(PEER_PORT)[3:]} ok\n", "", f"127.0.0.1:{PEER_PORT}"]
    assert [(s.style, s.control) for s in out] == [(s.style, s.control) for s in segments]


def test_segments_never_join_across_a_control() -> None:
    fake = fakes(p40123=PEER_PORT)
    segments = [Segment("127.0.0.1"), Segment("", None, [(1,)]), Segment(":40123")]  # type: ignore[list-item]
    assert fake.segments(segments) == segments
