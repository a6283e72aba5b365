"""Panes whose capability has not landed yet: they say so plainly."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from workbench.ui.panes import PaneController

OPTIONS_LATER = (
    "Socket options: the live option panel (full catalog, effective read-back, TCP_INFO) "
    "is not there yet.\n\nNow: press o to set an integer option and g to read one; "
    "both are recorded as steps."
)
CONNS_LATER = (
    "Connections: the machine's connection table is not there yet.\n\n"
    "It will come from netlink sock_diag with this workbench's own sockets marked. "
    "Meanwhile `ss -tanup` shows it."
)


class OptionsPane(PaneController):
    def compose(self) -> ComposeResult:
        yield Static(OPTIONS_LATER, classes="later")


class ConnsPane(PaneController):
    def compose(self) -> ComposeResult:
        yield Static(CONNS_LATER, classes="later")
