"""The hex view over real capture stores: rows, layouts, cursor, search, copy, save, follow.

Stores are filled with `CaptureStore.append`, as the engine fills them (one test goes
through a real engine and echo peer). Rows are checked against core.hexdump and the
real `hexdump -C`; the row model is checked against a plain list expansion.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import wait_until
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from ui_helpers import settle

from workbench.core.capture_rows import (
    CaptureRows,
    ChunkInfo,
    NewChunks,
    data_rows,
    escape,
    escape_cells,
    find,
)
from workbench.core.hexdump import format_rows
from workbench.core.payload import parse_hex, to_c_array, to_escapes, to_python_literal
from workbench.io.capture import IN, OUT, ByteLog, CaptureStore
from workbench.io.engine import Engine
from workbench.io.peers import Peer, format_address
from workbench.ui.widgets.hex_view import HexPrompt, HexView, new_chunks

HEXDUMP = shutil.which("hexdump")
Chunks = list[tuple[int, bytes, str]]

# Fixed content for row checks and snapshots: an HTTP exchange, then binary both ways.
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n"
BINARY = bytes(range(256))[::7] + b"\x00\x00\xff\xfe"
EXCHANGE: Chunks = [(OUT, REQUEST, ""), (IN, RESPONSE[:20], ""), (IN, RESPONSE[20:], ""),
                    (OUT, BINARY, ""), (IN, BINARY[::-1], "")]


def make_store(chunks: Chunks, t0: float = 1.0) -> CaptureStore:
    store = CaptureStore(ByteLog())
    for n, (direction, data, peer) in enumerate(chunks):
        store.append(direction, data, t0 + n * 0.25, peer)
    return store


class HexApp(App[None]):
    def __init__(self, store: CaptureStore | None, datagram: bool = False) -> None:
        super().__init__()
        self.store = store
        self.datagram = datagram

    def compose(self) -> ComposeResult:
        yield HexView(self.store, datagram=self.datagram, poll=0)

    def on_mount(self) -> None:
        self.query_one(HexView).focus()


Scenario = Callable[[Pilot[Any], HexView], Awaitable[None]]


def drive(store: CaptureStore | None, scenario: Scenario, size: tuple[int, int] = (120, 40),
          datagram: bool = False) -> HexApp:
    app = HexApp(store, datagram)

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.pause()
            await scenario(pilot, app.query_one(HexView))

    asyncio.run(main())
    return app


def screen(view: HexView) -> list[str]:
    """The rows on screen as text, the status line excluded."""
    height = view.scrollable_content_region.height
    return [view.render_line(y).text.rstrip() for y in range(height - 1)]


def raw_rows(view: HexView) -> list[str]:
    """The rows on screen, unstripped: rows padded with spaces to the width."""
    height = view.scrollable_content_region.height
    return [view.render_line(y).text for y in range(height - 1)]


def status(view: HexView) -> str:
    return view.render_line(view.scrollable_content_region.height - 1).text


async def last_notice(pilot: Pilot[Any]) -> tuple[str, str]:
    """(severity, message) of the latest notification, once it reached the app."""
    await pilot.pause()
    found = [(n.severity, n.message) for n in pilot.app._notifications]
    return found[-1] if found else ("", "")


def expected_rows(chunks: Chunks, layout: str, headers: bool = False) -> list[str]:
    """What the hex view must show: per chunk, format_rows at the direction's offset."""
    totals = [0, 0]
    out = []
    for direction, data, _peer in chunks:
        marker = "<>"[direction]
        if headers:
            out.append(marker)
        out += [f"{marker} {line}" for line in format_rows(data, totals[direction], layout)]
        totals[direction] += len(data)
    return out


# -- the pure model ----------------------------------------------------------------------


def columns(chunks: list[tuple[int, int, int]]) -> NewChunks:
    """(direction, size, peer id) triples as the store's index would hold them."""
    import numpy as np

    totals, offsets, pos = [0, 0], [], []
    at = 0
    for direction, size, _peer in chunks:
        offsets.append(totals[direction])
        totals[direction] += size
        pos.append(at)
        at += size
    return NewChunks(np.arange(len(chunks), dtype=np.float64),
                     np.array([c[0] for c in chunks], dtype=np.int8),
                     np.array(offsets, dtype=np.int64),
                     np.array([c[1] for c in chunks], dtype=np.int64),
                     np.array(pos, dtype=np.int64),
                     np.array([c[2] for c in chunks], dtype=np.int32), ["", "a", "b"])


chunk_lists = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 70), st.integers(0, 2)),
                       max_size=60)


@settings(max_examples=150, deadline=None)
@given(chunk_lists, st.integers(1, 40), st.lists(st.integers(1, 6), max_size=4),
       st.sampled_from([1, 8, 16, 48]), st.booleans(), st.sampled_from([None, 0, 1]),
       st.sampled_from([None, 0, 1, 2]))
def test_row_lookup_matches_a_plain_expansion(
        chunks: list[tuple[int, int, int]], split: int, more: list[int], width: int,
        headers: bool, direction: int | None, peer: int | None) -> None:
    model = CaptureRows()
    model.configure(width, headers, direction, peer)
    cuts = [0, *sorted({min(split, len(chunks)), *(min(split * m, len(chunks)) for m in more)}),
            len(chunks)]
    for a, b in pairwise(cuts):  # appended in several parts
        if b > a:
            part = columns(chunks[a:b])
            offsets = part.offset + [sum(c[1] for c in chunks[:a] if c[0] == d)
                                     for d in part.direction]
            pos = part.pos + sum(c[1] for c in chunks[:a])
            model.extend(NewChunks(part.t, part.direction, offsets, part.size, pos,
                                   part.peer, part.peers))
    naive = []  # (chunk, row within block) for every row
    for i, (d, size, p) in enumerate(chunks):
        if (direction is None or d == direction) and (peer is None or p == peer):
            naive += [(i, r) for r in range(int(headers) + -(-size // width))]
    assert model.rows == len(naive)
    for y, (i, r) in enumerate(naive):
        k, row = model.locate(y)
        assert (model.block_chunk(k), row) == (i, r)
        if r >= int(headers):
            assert model.row_of(i, (r - int(headers)) * width) == y
    if naive:
        y = len(naive) // 2
        covered = [(model.block_chunk(k), r) for k, a, b in model.window(y, 7)
                   for r in range(a, b)]
        assert covered == naive[y:y + 7]
    totals = [0, 0]
    for i, (d, size, _p) in enumerate(chunks):
        for offset in {totals[d], totals[d] + size - 1} if size else set():
            assert model.chunk_at(d, offset) == i
        totals[d] += size
    assert model.totals == totals
    assert model.chunk_at(0, totals[0]) is None and model.chunk_at(1, totals[1]) is None


def test_steps_skip_empty_and_hidden_chunks() -> None:
    model = CaptureRows()
    model.extend(columns([(1, 3, 1), (0, 0, 0), (0, 4, 2), (1, 5, 2), (1, 2, 1)]))
    assert model.step(-1, True) == 0
    assert model.step(0, True) == 2  # chunk 1 is empty
    assert model.step(0, True, direction=1) == 3
    assert model.step(5, False) == 4
    model.configure(16, True, None, 1)  # peer "a" only
    assert model.step(0, True) == 4
    assert model.step(0, True, direction=0) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=1, max_size=6), st.integers(0, 310),
       st.integers(1, 40), st.booleans())
def test_find_agrees_with_bytes_find(data: bytes, pattern: bytes, start: int, window: int,
                                     forward: bool) -> None:
    def read(at: int, size: int) -> bytes:
        return data[at:at + size]

    want = data.find(pattern, start) if forward else data.rfind(pattern, 0,
                                                                 start + len(pattern) - 1)
    assert find(read, len(data), pattern, start, forward, window) == want


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(1, 50))
def test_escaped_rows_join_to_to_escapes(data: bytes, width: int) -> None:
    pieces = [data[k:k + width] for k in range(0, len(data), width)]
    nexts = [p[0] for p in pieces[1:]] + [-1][:len(pieces)]
    texts = [escape(p, n) for p, n in zip(pieces, nexts, strict=True)]
    assert "".join(texts) == to_escapes(data)
    for piece, nxt, text in zip(pieces, nexts, texts, strict=True):
        assert escape_cells(piece, nxt)[-1] == len(text)


@pytest.mark.parametrize("mode,layout", [("hex", "canonical"), ("hex", "xxd"),
                                         ("hex", "narrow"), ("split", "canonical"),
                                         ("split", "narrow"), ("text", "canonical")])
def test_byte_spans_point_at_each_bytes_cells(mode: str, layout: str) -> None:
    data = b"Az\x00\x017\r\n~" * 6
    width = 16 if layout != "narrow" else 8
    chunk = ChunkInfo(0, 0.0, OUT, 0x1_0000_0000 - 16, len(data), 0, "")  # 8 and 9 digits
    for row in data_rows(chunk, 0, data, -1, mode, layout, width):
        for j, byte in enumerate(row.data):
            spans = row.spans(j, j + 1)
            cells = [row.text[a:b] for a, b in spans]
            assert (f"{byte:02x}" in cells) == (mode != "text")
            shown = escape(row.data, row.following)
            text_cell = cells[-1]
            if mode == "hex":
                assert text_cell == (chr(byte) if 0x20 <= byte < 0x7F else ".")
            else:
                lo = row.cells()[j]
                assert text_cell == shown[lo:row.cells()[j + 1]]


def test_new_chunks_copies_and_leaves_the_store_appendable() -> None:
    store = make_store(EXCHANGE)
    new = new_chunks(store, 2)
    assert new is not None and list(new.size) == [len(c[1]) for c in EXCHANGE[2:]]
    store.append(OUT, b"more", 9.0)  # would raise BufferError if a view pinned the array
    assert new_chunks(store, len(store) - 1) is not None
    assert new_chunks(store, len(store)) is None


# -- rows on screen ----------------------------------------------------------------------


def test_both_directions_with_offsets_markers_and_headers() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.set_follow(False)
        await pilot.press("ctrl+home")
        rows = screen(view)
        assert rows[0] == f"> out length={len(REQUEST)} from=0 to={len(REQUEST) - 1}  t=1.000000"
        assert rows[1] == "> " + format_rows(REQUEST, 0, "canonical")[0]
        at = rows.index("< in  length=20 from=0 to=19  t=1.250000")
        assert rows[at + 1] == "< " + format_rows(RESPONSE[:20], 0, "canonical")[0]
        second = f"< in  length={len(RESPONSE) - 20} from=20 to={len(RESPONSE) - 1}  t=1.500000"
        assert second in rows
        binary_header = f"> out length={len(BINARY)} from={len(REQUEST)}"
        assert any(r.startswith(binary_header) for r in rows)
        assert [r[0] for r in rows if r.strip()] == [r[0] for r in
                                                     expected_rows(EXCHANGE, "canonical", True)]

    drive(make_store(EXCHANGE), scenario)


@pytest.mark.parametrize("layout", ["canonical", "xxd", "narrow"])
def test_rows_are_byte_exact_format_rows(layout: str) -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.set_layout(layout)
        view.set_headers(False)
        view.set_follow(False)
        await pilot.press("ctrl+home")
        assert view.shape.layout == layout
        want = expected_rows(EXCHANGE, layout)
        width = view.scrollable_content_region.width
        assert raw_rows(view)[:len(want)] == [row.ljust(width) for row in want]

    drive(make_store(EXCHANGE), scenario, size=(120, 60))


def test_layout_is_narrow_at_80_columns_and_the_key_cycles_it() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert view.shape.layout == "narrow"
        seen = []
        for _ in range(4):
            await pilot.press("L")
            seen.append((view.layout_choice, view.shape.layout))
        # Canonical rows need 80 columns: narrow stands in, and the status says why.
        assert seen == [("canonical", "narrow"), ("xxd", "xxd"), ("narrow", "narrow"),
                        ("auto", "narrow")]
        await pilot.press("L")
        assert view.squeezed == "canonical needs 80 columns"
        assert "hex narrow (canonical needs 80 columns)" in status(view)
        assert all(len(r) <= view.scrollable_content_region.width for r in screen(view))
        await pilot.press("L", "L", "L")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert view.shape.layout == "canonical"
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert view.shape.layout == "narrow"
        assert all(len(r) <= view.scrollable_content_region.width for r in screen(view))

    drive(make_store(EXCHANGE), scenario, size=(80, 24))


def test_text_and_split_modes() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        await pilot.press("m")
        assert view.mode == "text"
        rows = screen(view)
        assert "> 00000000  " + to_escapes(REQUEST)[:40] in [r[:52] for r in rows]
        await pilot.press("m")
        assert view.mode == "split"
        rows = screen(view)
        hexes = format_rows(REQUEST, 0, view.shape.layout)[0]
        text = to_escapes(REQUEST[:view.shape.row_bytes])
        assert rows[1].startswith("> " + hexes[:58].rstrip())
        assert rows[1].endswith(" │ " + text.rstrip())
        await pilot.press("m")
        assert view.mode == "hex"

    drive(make_store(EXCHANGE), scenario)


def test_markers_survive_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert pilot.app.no_color
        await pilot.press("ctrl+home")
        for mode in ("hex", "text", "split"):
            view.set_mode(mode)
            rows = [r for r in screen(view) if r]
            assert rows and all(r[:2] in ("< ", "> ") for r in rows)
            assert {r[0] for r in rows} == {"<", ">"}

    drive(make_store(EXCHANGE), scenario)


# -- cursor, selection and copy ----------------------------------------------------------


def test_copy_as_text_reads_as_the_text_view_shows_it() -> None:
    """de ad is valid UTF-8 (one character) but the text view shows \\xde\\xad: so does Y."""

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.set_mode("text")
        await pilot.press("ctrl+home", "v", *["right"] * 6, "Y")
        assert pilot.app.clipboard == "ping\\n\\xde\\xad"
        assert "ping\\n\\xde\\xad" in "".join(screen(view))

    drive(make_store([(OUT, b"ping\n\xde\xad", "")]), scenario)


def test_copy_a_selection_in_four_formats() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home", "right", "right", "right", "right", "v")
        await pilot.press(*["right"] * 10)
        assert view.selection == (OUT, 4, 15)
        want = REQUEST[4:15]
        for key, text in (("y", want.hex(" ")), ("Y", escape(want)),
                          ("C", to_c_array(want)), ("P", to_python_literal(want))):
            await pilot.press(key)
            assert pilot.app.clipboard == text
        assert "sel 11 B" in status(view)
        await pilot.press("escape")
        assert view.selection is None

    drive(make_store(EXCHANGE), scenario)


def test_shift_selection_stays_in_one_direction() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.set_headers(False)
        view.set_follow(False)
        await pilot.press("ctrl+home", "end")  # last byte of the first row of the request
        await pilot.press(*["shift+down"] * 6)  # past the end of the request block
        direction, start, end = view.selection or (None, 0, 0)
        assert (direction, start) == (OUT, 15)
        assert end > len(REQUEST)  # on into the binary chunk, skipping the response
        await pilot.press("y")
        assert pilot.app.clipboard == (REQUEST + BINARY)[15:end].hex(" ")
        await pilot.press("right")  # a plain move drops a shift selection
        assert view.selection is None

    drive(make_store(EXCHANGE), scenario)


def test_cursor_highlights_hex_and_text_cells() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home", "right")  # row 0 is the header: byte 1 is on row 1
        assert view.cursor_position() == (OUT, 1)
        strip = view.render_line(1)
        reversed_text = "".join(s.text for s in strip if s.style and s.style.reverse)
        assert reversed_text == "45E"  # "45" in the hex column and "E" in the text column

    drive(make_store(EXCHANGE), scenario)


def test_bad_copy_and_escape_without_selection() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("y")
        assert (await last_notice(pilot))[0] == "error"
        assert pilot.app.clipboard == ""

    drive(make_store(EXCHANGE), scenario)


def test_click_puts_the_cursor_on_a_byte() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        row = screen(view)[2]  # the second row of the request: offset 0x10
        await pilot.click(HexView, offset=(row.index("|") + 4, 2))  # the 4th text cell
        assert view.cursor_position() == (OUT, 0x13)
        await pilot.click(HexView, offset=(12 + 3 * 9 + 1, 2))  # the 10th hex cell
        assert view.cursor_position() == (OUT, 0x19)

    drive(make_store(EXCHANGE), scenario)


def test_a_long_row_is_cut_never_shifted_sideways() -> None:
    """Escapes overflow a narrow text row: it is cut with », and keeps its offset at the
    left even with the cursor on its last byte (the status line says where that is)."""

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.set_mode("text")
        view.jump_to(OUT, len(REQUEST))  # the binary chunk: escapes overflow its rows
        await pilot.press("end")
        y = view.model.row_of(*view.cursor or (0, 0)) or 0
        text = view.render_line(y - view.scroll_offset.y).text
        width = view.scrollable_content_region.width
        assert text.startswith("> 000000") and text.endswith("»") and len(text) == width
        assert not any(row.startswith("«") for row in screen(view))
        where = view.cursor_position()
        assert where is not None and f"> 0x{where[1]:x}" in status(view)

    drive(make_store(EXCHANGE), scenario, size=(40, 16))


class KeyApp(HexApp):
    BINDINGS = [("escape", "record", "")]
    pressed = 0

    def action_record(self) -> None:
        self.pressed += 1


def test_escape_clears_first_then_reaches_the_app() -> None:
    app = KeyApp(make_store(EXCHANGE))

    async def main() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            view = app.query_one(HexView)
            await pilot.press("ctrl+home", "v", "right", "escape")
            assert view.selection is None and app.pressed == 0
            await pilot.press("escape")
            assert app.pressed == 1

    asyncio.run(main())


def test_every_key_has_an_id_and_can_be_remapped() -> None:
    ids = [b.id for b in HexView.BINDINGS if isinstance(b, Binding)]
    assert len(ids) == len(HexView.BINDINGS) and all(i and i.startswith("hex.") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(i in (HexView.__doc__ or "") for i in ids if not i.startswith("hex.select_"))

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        pilot.app.set_keymap({"hex.follow": "F"})
        await pilot.press("f")
        assert view.following
        await pilot.press("F")
        assert not view.following

    drive(make_store(EXCHANGE), scenario)


# -- search ------------------------------------------------------------------------------

SPLIT: Chunks = [(OUT, b"...HEL", ""), (IN, b"HELLO in one", ""), (OUT, b"LO...", ""),
                 (IN, b"xxHE", ""), (IN, b"LLO", ""), (OUT, b"\xde\xad", ""),
                 (OUT, b"\xbe\xef", "")]


def test_search_finds_patterns_across_chunk_boundaries() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        assert view.search(b"HELLO")  # from the first byte: the one split over chunks 0 and 2
        assert (view.match, view.cursor_position()) == ((OUT, 3, 8), (OUT, 3))
        await pilot.press("f3")
        assert view.match == (IN, 0, 5)
        await pilot.press("f3")
        assert view.match == (IN, 14, 19)  # across chunks 3 and 4
        await pilot.press("f3")
        assert view.match == (IN, 14, 19) and (await last_notice(pilot))[0] == "warning"
        await pilot.press("shift+f3")
        assert view.match == (IN, 0, 5)
        await pilot.press("shift+f3")
        assert view.match == (OUT, 3, 8)
        assert view.answer("search", "hex:de ad be ef")
        assert view.match == (OUT, 11, 15)
        rows = [view.render_line(y) for y in range(view.scrollable_content_region.height)]
        lit = "".join(s.text for strip in rows for s in strip if s.style and s.style.bold
                      and s.style.bgcolor)
        assert "ad" in lit and "be" in lit

    drive(make_store(SPLIT), scenario)


def test_search_prompt_and_bad_hex() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home", "slash")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HexPrompt)
        await pilot.press(*"xxHE", "enter")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, HexPrompt)
        assert view.match == (IN, 12, 16)
        assert not view.answer("search", "hex:zz")
        severity, message = await last_notice(pilot)
        assert severity == "error" and "bad hex character" in message and "\n" not in message

    drive(make_store(SPLIT), scenario)


# -- jump --------------------------------------------------------------------------------


def test_jump_to_offsets_and_bad_offsets() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert view.jump_to(IN, 30)
        assert view.cursor_position() == (IN, 30)
        assert not view.following
        row = view.model.row_of(*view.cursor or (0, 0))
        assert row is not None and view.scroll_offset.y <= row
        assert not view.jump_to(IN, 10_000)
        assert (await last_notice(pilot))[0] == "error"
        await pilot.press("colon")
        await settle(pilot)
        assert isinstance(pilot.app.screen, HexPrompt)
        pilot.app.screen.query_one("#hex-prompt").value = "> 0x10"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(pilot.app.screen, HexPrompt)
        assert view.cursor_position() == (OUT, 16)
        assert view.answer("jump", "<0000001a")
        assert view.cursor_position() == (IN, 26)
        assert not view.answer("jump", "twelve")
        assert (await last_notice(pilot))[0] == "error"

    drive(make_store(EXCHANGE), scenario)


# -- save --------------------------------------------------------------------------------


def hexdump_c(path: Path, *args: str) -> bytes:
    assert HEXDUMP is not None
    return subprocess.run([HEXDUMP, "-C", *args, str(path)], check=True, capture_output=True,
                          env={**os.environ, "LC_ALL": "C"}).stdout


def test_save_raw_and_as_hexdump(tmp_path: Path) -> None:
    store = make_store(EXCHANGE)
    stream = REQUEST + BINARY

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        view.select(OUT, 5, 90)
        assert view.save(str(tmp_path / "range.bin")) == 85
        assert (tmp_path / "range.bin").read_bytes() == stream[5:90]
        view.save(str(tmp_path / "range.txt"), hexdump=True)
        view.save(str(tmp_path / "out.bin"), OUT)
        view.save(str(tmp_path / "out.txt"), OUT, hexdump=True)
        assert (tmp_path / "out.bin").read_bytes() == stream
        if HEXDUMP:
            assert (tmp_path / "out.txt").read_bytes() == hexdump_c(tmp_path / "out.bin")
            assert (tmp_path / "range.txt").read_bytes() == hexdump_c(
                tmp_path / "out.bin", "-s", "5", "-n", "85")
        assert view.save(str(tmp_path / "no" / "such" / "dir.bin")) == -1
        severity, message = await last_notice(pilot)
        assert severity == "error" and "No such file or directory" in message
        await pilot.press("W")  # the prompt suggests a name for the selection
        await settle(pilot)
        assert isinstance(pilot.app.screen, HexPrompt)
        prompt = pilot.app.screen.query_one("#hex-prompt")
        assert prompt.value == "capture-out-5-90.hexdump.txt"  # type: ignore[attr-defined]
        prompt.value = str(tmp_path / "typed.txt")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)  # the prompt answered: the save's worker has started
        await pilot.app.workers.wait_for_complete()  # a save from the prompt is a worker's
        assert (tmp_path / "typed.txt").read_bytes() == (tmp_path / "range.txt").read_bytes()

    drive(store, scenario)


def test_a_save_from_the_prompt_runs_in_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        assert view.answer("save", str(path))
        assert [w.name for w in pilot.app.workers] == ["hex-save"]
        await pilot.app.workers.wait_for_complete()
        await settle(pilot)  # the worker's end is handled: the status line is free again
        assert not view.busy
        assert path.read_bytes() == REQUEST + BINARY

    drive(make_store(EXCHANGE), scenario)


# -- follow ------------------------------------------------------------------------------


def test_follow_keeps_the_tail_in_view_and_pause_stops_it() -> None:
    store = make_store(EXCHANGE)

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        for n in range(20):
            store.append(n % 2, b"tail %02d " % n * 5, 10.0 + n)
            view.catch_up()
            await pilot.pause()
            last = format_rows(b"tail %02d " % n * 5, store.totals[n % 2] - 40, "narrow")[-1]
            assert screen(view)[-1] == "<>"[n % 2] + " " + last
        assert view.cursor_position() == (1, store.totals[1] - 1)
        await pilot.press("f")
        assert not view.following and "paused" in status(view)
        top = view.scroll_offset.y
        store.append(OUT, b"unseen" * 20, 40.0)
        view.catch_up()
        await pilot.pause()
        assert view.scroll_offset.y == top
        assert not any("unseen"[:4] in r for r in screen(view))
        await pilot.press("f")
        assert view.following and "unseen" in screen(view)[-1]
        await pilot.press("up")  # moving away from the tail pauses
        assert not view.following

    drive(store, scenario, size=(80, 16))


# -- datagrams and peers -----------------------------------------------------------------


def test_datagrams_show_peers_and_filter_by_peer() -> None:
    grams: Chunks = [(OUT, b"ping 1", "127.0.0.1:9001"), (IN, b"pong 1", "127.0.0.1:9001"),
                     (OUT, b"ping 2", "127.0.0.1:9002"), (IN, b"", "127.0.0.1:9002"),
                     (IN, b"pong 2", "127.0.0.1:9002")]

    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        rows = screen(view)
        heads = [r for r in rows if "length=" in r]
        assert len(heads) == 5 and heads[3] == (
            "< in  length=0 at=6  t=1.750000  peer=127.0.0.1:9002")
        assert heads[0].endswith("peer=127.0.0.1:9001")
        await pilot.press("e")
        assert view.peer_filter == "127.0.0.1:9001"
        assert [r for r in screen(view) if "length=" in r] == heads[:2]
        await pilot.press("e")
        assert [r for r in screen(view) if "length=" in r] == heads[2:]
        await pilot.press("D")
        assert [r for r in screen(view) if "length=" in r] == heads[3:]
        await pilot.press("e")
        assert view.peer_filter is None and view.direction_filter == "in"
        await pilot.press("t")
        assert screen(view)[:2] == ["< " + format_rows(b"pong 1", 0, "canonical")[0],
                                    "< " + format_rows(b"pong 2", 6, "canonical")[0]]

    drive(make_store(grams), scenario, datagram=True)


def test_stream_eof_header() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert "< in  EOF at=3  t=1.250000" in screen(view)

    drive(make_store([(IN, b"abc", ""), (IN, b"", "")]), scenario)


def test_empty_and_missing_captures() -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        assert screen(view)[0] == "no socket selected: press n to create one"
        view.show_capture(make_store([]))
        await pilot.pause()
        assert screen(view)[0] == "nothing sent or received yet"
        await pilot.press("down", "v", "y", "f3")  # keys on nothing do no harm
        await pilot.pause()

    drive(None, scenario)


# -- bytes that were not kept ----------------------------------------------------------


def flood_store() -> CaptureStore:
    """A capture whose storage fell behind once: a droppable chunk bigger than the ring
    (4 KiB here) is never kept. "HEL" before the gap and "LO" inside it make no match."""
    store = CaptureStore(ByteLog(spill_threshold=0, ring_size=4096))
    store.append(IN, b"before HEL", 1.0)
    assert not store.append(IN, b"LO" + b"x" * 5000, 1.25, droppable=True).kept
    store.append(IN, b"HELLO after", 1.5)
    store.append(OUT, b"req", 1.75)
    assert store.lost == [5002, 0]
    return store


def test_a_chunk_not_kept_is_one_honest_row(tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[Any], view: HexView) -> None:
        await pilot.press("ctrl+home")
        rows = screen(view)
        assert rows[:6] == [
            "< in  length=10 from=0 to=9  t=1.000000",
            "< " + format_rows(b"before HEL", 0, "canonical")[0],
            "< in  length=5002 from=10 to=5011  not kept  t=1.250000",
            "< 0000000a  5002 bytes not kept (storage fell behind the stream)",
            "< in  length=11 from=5012 to=5022  t=1.500000",
            "< " + format_rows(b"HELLO after", 5012, "canonical")[0]]
        assert "4.9K not kept" in status(view) and view.not_kept == "4.9K not kept"
        await pilot.press(*["right"] * 10)  # the cursor steps over the gap
        assert view.cursor_position() == (IN, 5012)
        await pilot.press("up")  # over the gap's row, keeping the column
        assert view.cursor_position() == (IN, 0)
        view.set_headers(False)
        await pilot.press("down")  # never onto the gap's row: on to the kept bytes
        assert view.cursor_position() == (IN, 5012)
        await pilot.press("up")
        assert view.cursor_position() == (IN, 0)
        for mode in ("text", "split"):
            view.set_mode(mode)
            assert rows[3] in screen(view)
        view.set_mode("hex")
        view.set_headers(True)

        assert not view.jump_to(IN, 100)  # inside the gap: said, the cursor stays
        severity, message = await last_notice(pilot)
        assert severity == "warning" and "was not kept" in message
        assert view.cursor_position() == (IN, 0)

        await pilot.press("ctrl+home")
        assert view.search(b"HELLO")  # not "HEL" + the lost "LO": the one after the gap
        assert view.match == (IN, 5012, 5017)
        await pilot.press("ctrl+end")
        assert view.search(b"HEL", forward=False) and view.match == (IN, 5012, 5015)
        await pilot.press("shift+f3")
        assert view.match == (IN, 7, 10)

        view.select(IN, 5, 5015)  # across the gap: a copy says why it cannot
        await pilot.press("y")
        severity, message = await last_notice(pilot)
        assert severity == "error" and message.startswith("cannot copy: 5002 received bytes")
        assert "\n" not in message and pilot.app.clipboard == ""
        strip = view.render_line(3 - view.scroll_offset.y)  # the gap row shows it selected
        assert any(s.style and s.style.underline for s in strip)

        raw, dump = tmp_path / "in.bin", tmp_path / "in.txt"
        assert view.save(str(raw), IN) == 21  # the kept bytes, and a note
        assert raw.read_bytes() == b"before HEL" + b"HELLO after"
        severity, message = await last_notice(pilot)
        assert severity == "warning" and "5002 bytes were not kept and are left out" in message
        view.save(str(dump), IN, hexdump=True)  # true offsets around the gap
        assert dump.read_text().splitlines()[:2] == [
            format_rows(b"before HEL", 0, "canonical")[0], "0000000a"]
        assert dump.read_text().splitlines()[2] == format_rows(b"HELLO after", 5012,
                                                               "canonical")[0]
        assert view.save(str(tmp_path / "gap.bin"), IN, 20, 30) == -1
        severity, message = await last_notice(pilot)
        assert severity == "error" and "were not kept" in message
        assert not (tmp_path / "gap.bin").exists()

    drive(flood_store(), scenario)


# -- through a real engine ---------------------------------------------------------------


def test_hex_sent_to_an_echo_peer_shows_both_directions() -> None:
    payload = parse_hex("de ad be ef 00 01 02 03 0d 0a 41 42")
    engine = Engine()
    try:
        with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
            sid = engine.call("socket", family="inet", type="stream").result["sock"]
            assert engine.call("connect", sid, address=format_address(peer.address)).ok
            for _ in range(2):
                assert engine.call("send", sid, data=payload).ok
            capture = engine.capture(sid)
            wait_until(lambda: capture.totals[IN] == 2 * len(payload), "the echo")

            async def scenario(pilot: Pilot[Any], view: HexView) -> None:
                view.set_headers(False)
                view.set_follow(False)
                await pilot.press("ctrl+home")
                rows = [r for r in screen(view) if r]
                sent = [r for r in rows if r.startswith(">")]
                assert sent == [f"> {line}" for n in (0, 12)
                                for line in format_rows(payload, n, "canonical")]
                got = " ".join(r[12:61] for r in rows if r.startswith("<"))
                assert got.split() == (payload * 2).hex(" ").split()
                offsets = [int(r[2:10], 16) for r in rows if r.startswith("<")]
                assert offsets[0] == 0 and offsets == sorted(offsets)

            drive(capture, scenario)
    finally:
        engine.shutdown()


# -- snapshots ---------------------------------------------------------------------------


SNAP_CHUNKS: Chunks = [*EXCHANGE, (OUT, bytes(range(48, 48 + 75)), ""),
                       (IN, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 7, "")]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("mode", ["hex", "text", "split"])
def test_snapshot(snap_compare: Any, mode: str, size: tuple[int, int]) -> None:
    async def setup(pilot: Pilot[Any]) -> None:
        view = pilot.app.query_one(HexView)
        view.set_mode(mode)
        await pilot.press("ctrl+home")
        view.search(b"HTTP")  # highlighted at 0x10 of the request
        await pilot.press("down", "right", "v", "right", "right", "right")
        await pilot.pause()

    assert snap_compare(HexApp(make_store(SNAP_CHUNKS)), terminal_size=size, run_before=setup)
