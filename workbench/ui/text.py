"""Small helpers for widget text: updating labels, fitting text to a width."""

from __future__ import annotations

import re

from textual.widgets import Label


def set_text(label: Label, text: str, fitted: bool = False) -> None:
    """Update a label only when its text changes: an update lays the screen out again,
    which under a flood would take the time the receiving threads need. `fitted`: each
    line of the text is cut to the label's width, so only a change in the number of
    lines can change its size (none, if its height is fixed), and other changes only
    repaint it."""
    old = str(label.content)
    if old != text:
        height = label.styles.height
        grows = (height is None or height.is_auto) and old.count("\n") != text.count("\n")
        label.update(text, layout=not fitted or grows)


# An address in a line of text: host:port ([v6]:port, a name or dotted quad) or a unix:
# path; the port, or the path's end, is what tells two apart, so it is what is kept.
ADDRESS = re.compile(r"\[[^\]\s]*\]:\d+|[\w.\-…]+:\d+|unix:[^\s,)]+")
MIN_ADDRESS = 9  # "1…:47007": shorter than this an address says nothing


def shorten_address(address: str, width: int) -> str:
    """`address` in `width` cells, cut in the middle with "…", keeping its port (or the
    end of a path): `127.0.0.1:47007` -> `127…:47007`."""
    if len(address) <= width:
        return address
    host, sep, port = address.rpartition(":")
    tail = sep + port if sep and port.isdigit() else ""
    head = host if tail else address
    keep = max(1, width - len(tail) - 1)  # cells for the host, less the ellipsis
    if not tail:  # a path: its start and its end
        return head[: (keep + 1) // 2] + "…" + head[len(head) - keep // 2:]
    return head[: (keep + 1) // 2] + "…" + head[len(head) - keep // 2:] + tail \
        if keep > 1 else head[:1] + "…" + tail


def fit(text: str, width: int) -> str:
    """`text` in `width` cells: its longest addresses shortened in the middle first,
    then, if still too long, cut at the end with "…", never inside an address (half a
    port would read as another port)."""
    while len(text) > width:
        found = [m for m in ADDRESS.finditer(text) if len(m.group()) > MIN_ADDRESS]
        if not found:
            break
        longest = max(found, key=lambda m: len(m.group()))
        room = max(MIN_ADDRESS, len(longest.group()) - (len(text) - width))
        text = text[:longest.start()] + shorten_address(longest.group(), room) + \
            text[longest.end():]
    if len(text) <= width:
        return text
    cut = max(0, width - 1)
    for found in ADDRESS.finditer(text):
        if found.start() < cut < found.end():
            cut = found.start()
    return text[:cut] + "…"
