"""Panes as plug-ins: the main screen builds its tabs from `PANES`.

A pane declares its id, tab title, key, palette name and help, and makes a
controller for a screen. The controller composes the pane's widgets and hears
what happens: `on_events` gets each batch of engine events (on the UI's loop),
`on_selected` the socket the user selected, `on_tick` the screen's timer. Adding
a pane is one entry here and one controller module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult

from workbench.io.engine import EngineEvent, SocketInfo

if TYPE_CHECKING:
    from workbench.ui.screens.main import MainScreen


class PaneController:
    """What a pane does; the screen calls these on the UI's loop."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    def compose(self) -> ComposeResult:
        yield from ()

    def on_events(self, events: list[EngineEvent]) -> None:
        """A batch of engine events, in order."""

    def on_selected(self, info: SocketInfo | None) -> None:
        """The selected socket (None: none), or a new snapshot of it."""

    def on_tick(self) -> None:
        """The screen's timer (about 10 times a second)."""

    def on_shown(self) -> None:
        """The user chose this pane's tab (by its key or the palette)."""


@dataclass(frozen=True)
class Pane:
    id: str
    title: str  # the tab
    key: str
    name: str  # the palette: "view: NAME"
    help: str
    make: Callable[[MainScreen], PaneController]


def _panes() -> tuple[Pane, ...]:
    from workbench.ui.panes.conns import ConnsPane
    from workbench.ui.panes.data import DataPane
    from workbench.ui.panes.log import LogPane
    from workbench.ui.panes.options import OptionsPane
    from workbench.ui.panes.session import SessionPane

    return (
        Pane("data", "Data", "1", "data", "the selected socket's bytes", DataPane),
        Pane("log", "Log", "2", "event log", "every step with its result", LogPane),
        Pane("session", "Session", "3", "session",
             "the loaded session's steps, recorded and live", SessionPane),
        Pane("options", "Options", "4", "options",
             "the selected socket's options, live; Enter sets one", OptionsPane),
        Pane("conns", "Conns", "5", "connections", "connection table", ConnsPane),
    )


PANES: tuple[Pane, ...] = _panes()
