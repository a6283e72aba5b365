"""The Conns pane driven by keys: filter by state and port, sort, the explanation of a
TIME_WAIT row, marks for rows that come and go, the workbench's own sockets as "mine",
and snapshots at 80x24 and 120x40 of a fixed fake table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conns_fake import ROWS, FakeSource, inet
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static
from ui_helpers import shown, wait_until

from workbench.core.conntable import F_COOKIE, KIND_TCP, LISTEN, address
from workbench.ui.app import WorkbenchApp
from workbench.ui.panes.conns import ConnsPane
from workbench.ui.widgets.conn_table import ConnTable

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSource]:
    source = FakeSource()
    monkeypatch.setattr(ConnsPane, "source_factory", staticmethod(lambda: source))
    yield source


def pane_of(pilot: Pilot[Any]) -> ConnsPane:
    pane = pilot.app.main.panes["conns"]  # type: ignore[attr-defined]
    assert isinstance(pane, ConnsPane)
    return pane


def table_of(pilot: Pilot[Any]) -> ConnTable:
    return pilot.app.screen.query_one(ConnTable)


async def open_conns(pilot: Pilot[Any]) -> ConnsPane:
    await pilot.press("5")
    pane = pane_of(pilot)
    await wait_until(pilot, lambda: pane.refreshes >= 1, what="the first refresh")
    assert table_of(pilot).has_focus  # 5 alone puts the keys in the table
    return pane


async def type_filter(pilot: Pilot[Any], text: str) -> None:
    """/ then the words (a space is typed as one), then Enter."""
    await pilot.press("slash")
    box = pilot.app.screen.query_one("#conns-filter", Input)
    await wait_until(pilot, lambda: box.has_focus, what="the filter box")
    box.value = ""
    await pilot.press(*("space" if c == " " else c for c in text))
    await pilot.press("enter")


async def filter_by(pilot: Pilot[Any], text: str) -> None:
    pane = pane_of(pilot)
    before = pane.refreshes
    await type_filter(pilot, text)
    await wait_until(pilot, lambda: pane.refreshes > before and not pane._busy
                     and pane.result is not None and pane.result.settings.flt.text == text,
                     what=f"the table filtered by {text!r}")


def states(pilot: Pilot[Any]) -> list[str]:
    return [r[6] for r in table_of(pilot).rows]


def locals_(pilot: Pilot[Any]) -> list[str]:
    return [address(r, True) for r in table_of(pilot).rows]


def run(app: WorkbenchApp, scenario: Callable[[Pilot[Any]], Any],
        size: tuple[int, int] = (120, 40)) -> None:
    import asyncio

    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    asyncio.run(go())


def test_filter_by_state_and_port(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_conns(pilot)
        assert len(table_of(pilot).rows) == len(ROWS)
        await filter_by(pilot, "time-wait")
        assert states(pilot) == [6, 6]
        await filter_by(pilot, "tcp :47007")
        assert sorted(locals_(pilot)) == sorted(
            ["127.0.0.1:47007"] * 3 + ["127.0.0.1:51000", "127.0.0.1:51002"])
        await filter_by(pilot, "listen v6")
        assert locals_(pilot) == ["[::1]:47107"]
        status = shown(pilot.app.screen.query_one("#conns-status", Label))
        assert status.startswith(f"1 of {len(ROWS)}")

    run(WorkbenchApp(journal=False), scenario)


def test_a_bad_filter_says_why_and_keeps_the_table(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        await filter_by(pilot, "listen")
        await type_filter(pilot, "listen bogus")
        status = pilot.app.screen.query_one("#conns-status", Label)
        await wait_until(pilot, lambda: "unknown filter 'bogus'" in shown(status),
                         what="the filter error")
        assert pane.filter_error is not None
        assert states(pilot) == [LISTEN] * 3, (states(pilot), pane.settings.flt.text)

    run(WorkbenchApp(journal=False), scenario)


def test_sort_by_columns_and_invert(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        await filter_by(pilot, "tcp v4")
        table = table_of(pilot)
        table.focus()
        while pane.settings.sort != "recv-q":
            before = pane.refreshes
            await pilot.press("greater_than_sign")
            await wait_until(pilot, lambda b=before: pane.refreshes > b, what="a sort")
        queues = [r[16] for r in table.rows]
        assert queues == sorted(queues)
        before = pane.refreshes
        await pilot.press("R")
        await wait_until(pilot, lambda: pane.refreshes > before, what="the inverted sort")
        assert [r[16] for r in table.rows] == sorted(queues, reverse=True)
        assert "sort recv-q descending" in shown(pilot.app.screen.query_one("#conns-status", Label))

    run(WorkbenchApp(journal=False), scenario)


def test_a_time_wait_row_is_explained(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_conns(pilot)
        await filter_by(pilot, "v4 time-wait")
        table = table_of(pilot)
        table.focus()
        await pilot.press("home")
        box = pilot.app.screen.query_one("#conns-explain", Static)
        await wait_until(pilot, lambda: "TIME-WAIT: the connection is over" in shown(box),
                         what="the TIME_WAIT explanation")
        text = shown(box)
        assert "127.0.0.1:51002 → 127.0.0.1:47007" in text
        assert "SO_REUSEADDR" in text or "nobody" in text

    run(WorkbenchApp(journal=False), scenario)


def test_a_listeners_queues_are_its_accept_backlog(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await open_conns(pilot)
        await filter_by(pilot, "listen v4")
        box = pilot.app.screen.query_one("#conns-explain", Static)
        await wait_until(pilot, lambda: "accept" in shown(box), what="the explanation")
        box.styles.max_height = 20  # the whole text, not the pane's four lines
        await pilot.pause()
        text = shown(box)
        assert "Recv-Q 2: connections waiting to be accepted" in text
        assert "Send-Q 128: the largest accept queue" in text
        assert '("echo-server",pid=4242)' in text

    run(WorkbenchApp(journal=False), scenario)


def test_rows_that_come_and_go_are_marked(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        pane.step_interval(-5)  # every 0.5 s
        new = inet(KIND_TCP, LISTEN, "127.0.0.1", 47999, inode=999)
        gone = fake.rows.pop(1)
        fake.rows.append(new)
        table = table_of(pilot)
        await wait_until(pilot, lambda: table.marks.get(new[F_COOKIE]) == "+",
                         what="the new row marked")
        assert table.marks.get(gone[F_COOKIE]) == "-"
        assert gone in table.rows  # still shown, marked, for a moment
        lines = [table.render_line(y).text for y in range(1, len(table.rows) + 1)]
        assert any(line.startswith("+ ") and "47999" in line for line in lines)
        assert any(line.startswith("- ") and "51000" in line for line in lines)

    run(WorkbenchApp(journal=False), scenario)


def test_pause_stops_refreshing(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        await pilot.press("space")
        assert pane.paused
        await wait_until(pilot, lambda: not pane._busy, what="the last refresh to end")
        fetched = fake.fetches
        pane._due = 0.0  # a refresh is due: a tick would start one were it not paused
        pane.on_tick()
        assert not pane._busy and fake.fetches == fetched
        assert "paused" in shown(pilot.app.screen.query_one("#conns-status", Label))
        await pilot.press("space")
        pane.on_tick()
        assert pane._busy or fake.fetches > fetched  # resumed: the tick starts a refresh
        await wait_until(pilot, lambda: fake.fetches > fetched, what="a refresh after resume")

    run(WorkbenchApp(journal=False), scenario)


def test_the_workbench_sockets_are_mine_in_the_real_table() -> None:
    """Real netlink source: a listener made in the workbench is found by its inode."""

    async def scenario(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        ws = app.main.ws
        sid = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("bind", sid, address="127.0.0.1:0")
        ws.call("listen", sid)
        info = ws.socket_info(sid)
        await open_conns(pilot)
        await filter_by(pilot, "mine")
        table = table_of(pilot)
        await wait_until(pilot, lambda: [r[19] for r in table.rows] == [info.inode],
                         what="the workbench's listener, alone, in the table")
        line = table.render_line(1).text
        assert "mine" in line and info.local.split(":")[-1] in line

    run(WorkbenchApp(journal=False), scenario)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot(snap_compare: SnapCompare, size: tuple[int, int], fake: FakeSource) -> None:
    """The Conns pane on a fixed table: a TIME_WAIT row selected and explained."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await open_conns(pilot)
        table = table_of(pilot)
        for _ in range(3):
            await pilot.press("down")
        box = pilot.app.screen.query_one("#conns-explain", Static)
        await wait_until(pilot, lambda: "TIME-WAIT" in shown(box), what="the explanation")
        await pilot.pause()
        assert table.cursor == 3

    app = WorkbenchApp(stable=True, journal=False)
    assert snap_compare(app, terminal_size=size, run_before=run_before)



def test_more_columns_on_e(fake: FakeSource) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        table = table_of(pilot)
        before = pane.refreshes
        await pilot.press("e")
        await wait_until(pilot, lambda: pane.refreshes > before, what="a refresh with columns")
        assert table.columns[-3:] == ("timer", "uid", "inode")
        header = table.render_line(0).text
        assert "Timer" in header and "inode" in header
        tw = next(i for i, r in enumerate(table.rows) if r[6] == 6)
        table.move_to(tw)
        await pilot.pause()
        assert "timer:(timewait,42sec,0)" in table.render_line(tw + 1 - table.scroll_offset.y
                                                               ).text

    run(WorkbenchApp(journal=False), scenario, size=(200, 40))


def test_a_failing_source_pauses_and_says_why(fake: FakeSource,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fake, "fetch", refuse)

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("5")
        pane = pane_of(pilot)
        status = pilot.app.screen.query_one("#conns-status", Label)
        await wait_until(pilot, lambda: "cannot read the socket table" in shown(status),
                         what="the failure said")
        assert pane.paused and "Operation not permitted" in shown(status)

    run(WorkbenchApp(journal=False), scenario)


def test_a_rising_trouble_counter_is_news(fake: FakeSource,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters count from boot: only a rise since the pane opened gets a line."""
    counters = {"ListenOverflows": 268, "ListenDrops": 268}
    monkeypatch.setattr(fake, "counters", lambda: ({}, dict(counters), (32768, 60999)))

    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        summary = pilot.app.screen.query_one("#conns-news", Label)
        assert "since opened" not in shown(summary) and "268" not in shown(summary)
        counters["ListenOverflows"] = 271
        before = pane.refreshes
        pane.refresh(fetch=True)
        await wait_until(pilot, lambda: pane.refreshes > before, what="a refresh")
        assert "since opened: ListenOverflows +3 (accept queue full" in shown(summary)

    run(WorkbenchApp(journal=False), scenario)


def test_pasted_ss_output_in_the_table_and_back_to_live(fake: FakeSource) -> None:
    from pathlib import Path

    from textual.widgets import TextArea

    from workbench.ui.widgets.conn_paste import PasteBox

    saved = (Path(__file__).parents[1] / "io" / "fixtures" / "ss-tanp.txt").read_text()

    async def scenario(pilot: Pilot[Any]) -> None:
        pane = await open_conns(pilot)
        await pilot.press("P")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PasteBox), what="the box")
        area = pilot.app.screen.query_one(TextArea)
        area.insert("hello, not a table")  # what a paste does
        await wait_until(pilot, lambda: area.text == "hello, not a table", what="the paste")
        await pilot.press("ctrl+s")
        note = pilot.app.screen.query_one("#paste-note", Label)
        await wait_until(pilot, lambda: "not the output of ss" in shown(note), what="refused")
        area.text = ""
        area.insert(saved)
        await wait_until(pilot, lambda: area.text == saved, what="the paste")
        before = pane.refreshes
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: pane.refreshes > before, what="the pasted table")
        table = table_of(pilot)
        assert len(table.rows) == len(saved.splitlines()) - 1
        status = pilot.app.screen.query_one("#conns-status", Label)
        assert "pasted ss output (P: back to live)" in shown(status)
        await filter_by(pilot, "proc:python3 v6 listen")
        assert locals_(pilot) == ["[::1]:35017"]
        fetched = fake.fetches
        pane._due = 0.0
        pane.on_tick()  # a pasted table does not refresh
        assert fake.fetches == fetched
        table.focus()
        await pilot.press("P")
        await wait_until(pilot, lambda: pane.saved is None and fake.fetches > fetched,
                         what="back to the live table")
        await filter_by(pilot, "")
        assert len(table_of(pilot).rows) == len(ROWS)

    run(WorkbenchApp(journal=False), scenario)


def test_dumps_run_beside_the_ui_never_on_its_loop(fake: FakeSource,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    threads: list[threading.Thread] = []
    real = fake.fetch

    def fetch(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(fake, "fetch", fetch)

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_conns(pilot)
        assert threads and all(t is not threading.main_thread() for t in threads)

    run(WorkbenchApp(journal=False), scenario)


def test_copy_a_row_and_the_table_as_ss_prints_them(fake: FakeSource,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[str] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        monkeypatch.setattr(pilot.app, "copy_to_clipboard", copied.append)
        await open_conns(pilot)
        await filter_by(pilot, "listen v4")
        table_of(pilot).focus()
        await pilot.press("y")
        await wait_until(pilot, lambda: len(copied) == 1, what="the row copied")
        assert copied[0].split() == ["tcp", "LISTEN", "2", "128", "127.0.0.1:47007",
                                     "0.0.0.0:*", '("echo-server",pid=4242)']
        await filter_by(pilot, "listen")
        table_of(pilot).focus()
        await pilot.press("Y")
        await wait_until(pilot, lambda: len(copied) == 2, what="the table copied")
        lines = copied[1].splitlines()
        assert lines[0].split()[:2] == ["Netid", "State"]
        assert [line.split()[:2] for line in lines[1:]] == [
            ["tcp", "LISTEN"], ["tcp", "LISTEN"], ["u_str", "LISTEN"]]

    run(WorkbenchApp(journal=False), scenario)


def test_a_pile_up_is_spotted(fake: FakeSource) -> None:
    from conns_fake import OWNERS

    waiting = [inet(KIND_TCP, 8, "127.0.0.1", 47007, "127.0.0.1", 52000 + i, inode=500 + i)
               for i in range(10)]
    fake.rows += waiting
    for r in waiting:
        OWNERS[r[19]] = OWNERS[101]

    async def scenario(pilot: Pilot[Any]) -> None:
        await open_conns(pilot)
        news = pilot.app.screen.query_one("#conns-news", Label)
        await wait_until(pilot, lambda: "11 CLOSE-WAIT held by" in shown(news),
                         what="the pile-up said")
        assert '("echo-server",pid=4242)' in shown(news) and news.display

    try:
        run(WorkbenchApp(journal=False), scenario)
    finally:
        for r in waiting:
            del OWNERS[r[19]]
