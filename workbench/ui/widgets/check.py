"""A checkbox that says its state in characters: `[x]` on, `[ ]` off.

Textual's checkbox draws the same `▐X▌` on and off and tells them apart by colour
only, which NO_COLOR removes. Space toggles it; Enter is left to what holds it (a
form submits), so Enter never flips a setting unseen.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Checkbox

ON, OFF = "[x]", "[ ]"


class Check(Checkbox, inherit_bindings=False):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "toggle", show=False),
    ]

    @property
    def _button(self) -> Content:
        return Content.assemble((ON if self.value else OFF,
                                 self.get_visual_style("toggle--button")))
