"""Stepping through a loaded session that creates a raw socket: the app asks once, when
the session is loaded, as `replay --allow-raw` does; the file's own recorded approval
is never taken. Approved, the raw steps run; refused, they fail and the rest run."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import drive, wait_until

from workbench.core.packets import icmp
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.approval import ApprovalScreen

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")


def raw_session(tmp_path: Path) -> Path:
    """A raw ICMP socket, recorded as approved, sending one echo request to 127.0.0.1."""
    echo = icmp.echo(os.getpid() & 0xFFFF, 7, b"stepped").hex()
    steps = [
        {"op": "socket", "args": {"family": "inet", "type": "raw", "proto": 1,
                                  "auto": False, "approved": True}, "result": {"sock": 1}},
        {"op": "sendto", "sock": 1, "args": {"data": {"hex": echo}, "address": "127.0.0.1:0"},
         "result": {"sent": len(echo) // 2, "link": "icmp"}},
        {"op": "close", "sock": 1},
    ]
    path = tmp_path / "raw-echo.json"
    path.write_text(json.dumps({"format": "socket-workbench-session", "version": 1,
                                "steps": steps}))
    return path


def socket_error(app: WorkbenchApp) -> str | None:
    """The first socket step's errno; None when it worked; "none yet" when none ran."""
    made = [s for s in app.main.ws.steps() if s.op == "socket"]
    if not made:
        return "none yet"
    return made[0].error.name if made[0].error else None


@pytest.mark.parametrize("answer", ["y", "n"])
def test_loading_asks_once_and_the_answer_decides(app: WorkbenchApp, tmp_path: Path,
                                                   answer: str) -> None:
    path = raw_session(tmp_path)

    async def scenario(pilot: Pilot[Any]) -> None:
        app._load(str(path))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen),
                         what="the question")
        assert "step 0: Raw IPv4 socket for ICMP" in app.screen.text
        await pilot.press(answer)
        await wait_until(pilot, lambda: not isinstance(app.screen, ApprovalScreen),
                         what="answered")
        await pilot.press("f8")
        stepper = app.stepper
        assert stepper is not None
        await wait_until(pilot, lambda: stepper.done, what="the run to end")
        if answer == "y":
            assert socket_error(app) is None
            assert any(s.op == "sendto" and s.error is None for s in app.main.ws.steps())
            assert stepper.mismatches == []
        else:  # refused: the file's own approval is not taken, and nothing is created
            assert socket_error(app) == "none yet"
            assert "needs approval" in stepper.mismatches[0].message

    drive(app, scenario)
