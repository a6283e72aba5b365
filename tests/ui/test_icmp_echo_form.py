"""The ICMP echo request form: from a raw ICMP socket it sends one sendto step whose
bytes are an echo request with a correct checksum, and the kernel answers it."""

from __future__ import annotations

import os
from typing import Any

import pytest
from textual.pilot import Pilot
from ui_helpers import drive, fill, messages, submit, wait_until

from workbench.core.packets import decode
from workbench.core.packets.checksum import checksum
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.form import FormScreen

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")


async def open_echo_form(pilot: Pilot[Any], app: WorkbenchApp) -> FormScreen:
    app.main.open_form("icmp_echo")
    await wait_until(pilot, lambda: isinstance(app.screen, FormScreen)
                     and bool(app.screen.query("#f-ident")), what="the form")
    assert isinstance(app.screen, FormScreen)
    return app.screen


def test_the_form_sends_an_echo_request_and_the_reply_comes_back(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sid = ws.call("socket", family="inet", type="raw", proto=1, approved=True
                      ).result["sock"]
        await wait_until(pilot, lambda: app.main.selected == sid, what="the raw socket")
        form = await open_echo_form(pilot, app)
        await fill(pilot, form, ident="4242", seq="9", payload="hello")
        await submit(pilot, form)
        await wait_until(pilot, lambda: any(s.op == "sendto" for s in ws.steps()),
                         what="the sendto step")
        sent = next(s for s in ws.steps() if s.op == "sendto")
        data = bytes(sent.args["data"])
        assert sent.error is None and data[0] == 8 and checksum(data) == 0
        root = decode.decode(data, link="icmp")
        assert root.find("icmp", "ident").value == 4242  # type: ignore[union-attr]
        assert root.find("icmp", "seq").value == 9  # type: ignore[union-attr]

        def replied() -> bool:
            """A datagram with the IPv4 header, then an echo reply (type 0) of ours."""
            for step in ws.steps():
                if step.op == "recvfrom" and step.sock == sid and step.error is None:
                    got = step.result["data"].load()
                    kind = decode.decode(got, link="ipv4").find("icmp", "type")
                    if kind is not None and kind.value == 0 and got.endswith(b"hello"):
                        return True
            return False

        await wait_until(pilot, replied, timeout=10, what="the echo reply received")

    drive(app, scenario)


def test_a_tcp_socket_is_told_what_sends_icmp(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sid = ws.call("socket", family="inet", type="stream").result["sock"]
        await wait_until(pilot, lambda: app.main.selected == sid, what="the socket")
        app.main.open_form("icmp_echo")
        await wait_until(pilot, lambda: any("does not send ICMP" in m
                                            for m in messages(app)), what="the notice")
        assert not isinstance(app.screen, FormScreen)

    drive(app, scenario)
