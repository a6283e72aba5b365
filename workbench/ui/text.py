"""Small helpers for widget text."""

from __future__ import annotations

from textual.widgets import Label


def set_text(label: Label, text: str) -> None:
    """Update a label only when its text changes: each update lays the screen out again,
    which under a flood would take the time the receiving threads need."""
    if str(label.content) != text:
        label.update(text)
