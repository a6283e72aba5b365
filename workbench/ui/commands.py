"""Every action of the workbench, once: its key, binding id, palette title and help.

Bindings, the command palette and the help screen are all built from this table,
so an action is never reachable one way and missing another.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    id: str  # binding id: users remap keys by it (keymap.json)
    key: str
    action: str  # App action name
    title: str  # the palette entry, object then verb: "socket: connect"
    help: str
    footer: bool = False


ACTIONS: tuple[Action, ...] = (
    Action(
        "socket.new",
        "n",
        "socket('new_socket')",
        "socket: new",
        "create a socket (family, type)",
        True,
    ),
    Action(
        "socket.pair", "N", "socket('socketpair')", "socket: pair", "create a connected socketpair"
    ),
    Action(
        "socket.bind",
        "b",
        "socket('bind')",
        "socket: bind",
        "bind the selected socket to an address",
    ),
    Action(
        "socket.listen", "l", "socket('listen')", "socket: listen", "listen on the selected socket"
    ),
    Action(
        "socket.connect",
        "c",
        "socket('connect')",
        "socket: connect",
        "connect the selected socket",
        True,
    ),
    Action(
        "socket.accept", "a", "socket('accept')", "socket: accept", "accept one connection (manual)"
    ),
    Action("socket.recv", "r", "socket('recv')", "socket: recv", "receive with a size and flags"),
    Action(
        "socket.shutdown", "d", "socket('shutdown')", "socket: shutdown", "shut down RD, WR or RDWR"
    ),
    Action(
        "socket.close", "x", "socket('close')", "socket: close", "close the selected socket", True
    ),
    Action(
        "socket.blocking",
        "k",
        "socket('toggle_blocking')",
        "socket: toggle blocking",
        "switch between blocking and non-blocking (O_NONBLOCK)",
    ),
    Action(
        "socket.auto",
        "u",
        "socket('toggle_auto')",
        "socket: toggle auto-receive",
        "auto-receive / auto-accept on or off (manual mode)",
    ),
    Action(
        "socket.cancel",
        "escape",
        "cancel",
        "socket: cancel call",
        "leave a text field; else cancel the call in progress on the socket",
    ),
    Action(
        "option.set",
        "o",
        "socket('setsockopt')",
        "option: set",
        "setsockopt on the selected socket",
    ),
    Action(
        "option.get",
        "g",
        "socket('getsockopt')",
        "option: get",
        "getsockopt on the selected socket",
    ),
    Action("data.send", "s", "focus_send", "data: send", "type a payload and press Enter", True),
    Action(
        "data.mode",
        "f2",
        "cycle_mode",
        "data: payload mode",
        "text, hex, escapes, latin-1 or file for the send editor",
    ),
    Action(
        "peer.start",
        "p",
        "socket('start_peer')",
        "peer: start",
        "start a built-in echo/chargen peer",
    ),
    Action("session.save", "ctrl+s", "save", "session: save", "save the session", True),
    Action("session.save_as", "S", "save_as", "session: save as", "save under a new name"),
    Action("session.open", "ctrl+o", "open", "session: open", "load a session to step through"),
    Action(
        "session.next",
        "f7",
        "next_step",
        "session: next step",
        "run the next step of the loaded session",
    ),
    Action("session.run", "f8", "run_all", "session: run all", "run the rest of the session"),
    Action("session.stop", "f9", "stop_run", "session: stop", "stop running the session"),
    Action(
        "capture.lossless",
        "K",
        "toggle_lossless",
        "capture: lossless on/off",
        "keep every byte (a flood slows) or keep up (gaps marked)",
    ),
    Action("view.data", "1", "show_tab('data')", "view: data", "the selected socket's bytes"),
    Action("view.log", "2", "show_tab('log')", "view: event log", "every step with its result"),
    Action(
        "view.session",
        "3",
        "show_tab('session')",
        "view: session",
        "the loaded session's steps, recorded and live",
    ),
    Action("view.options", "4", "show_tab('options')", "view: options", "socket options"),
    Action("view.conns", "5", "show_tab('conns')", "view: connections", "connection table"),
    Action("app.help", "question_mark", "help", "help: keys", "show every key", True),
    Action("app.quit", "q", "quit", "app: quit", "quit (the journal keeps every step)", True),
)


def bindings() -> list[Binding]:
    return [
        Binding(a.key, a.action, a.title.split(": ", 1)[1], show=a.footer, id=a.id, tooltip=a.help)
        for a in ACTIONS
    ]


def key_label(key: str) -> str:
    return {"question_mark": "?", "escape": "esc"}.get(key, key)
