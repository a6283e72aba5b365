"""The `workbench` command: the TUI by default, headless subcommands for scripts.

Exit codes: 0 ok, 1 mismatch or a finding of failure, 2 bad input. Headless commands
import nothing from textual.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence

from workbench import __version__
from workbench.core.errors import InputError

OK, MISMATCH, BAD_INPUT = 0, 1, 2
TIMEOUT_MAX, MAX_WAIT, MAX_WAIT_MAX = 3600.0, 60.0, 86400.0
PUBLIC_PEERS_HELP = ("let peers the file declares listen on addresses beyond loopback, "
                     "such as 0.0.0.0 or [::] (default: loopback only; others are refused, exit 2)")


def _seconds(high: float, zero: bool = False, example: float = 5) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds up to `high`, over 0 (or from 0)."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value >= 0 if zero else value > 0) and value <= high):
            low = "from 0" if zero else "over 0"
            raise argparse.ArgumentTypeError(
                f"{text[:40]!r} is not a number of seconds {low} up to {high:g}: "
                f"use e.g. {example:g}")
        return value

    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Socket Workbench: open, drive and record TCP, UDP and Unix sockets.",
        epilog="Run without a command to open the workbench on an empty session.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    tui = argparse.ArgumentParser(add_help=False)  # options of the commands that open the TUI
    tui.add_argument("--lossless", action="store_true", default=argparse.SUPPRESS,
                     help="keep every captured byte, slowing a flood to what storage "
                          "takes (default: keep up, and mark what could not be kept)")
    parser.add_argument("--lossless", action="store_true",
                        help="with no command: keep every captured byte (see demo --help)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", parents=[tui],
                          help="open the workbench talking to a built-in echo peer")
    demo.add_argument("--headless", action="store_true",
                      help="run the demo exchange without the TUI and print it")
    demo.set_defaults(run=_cmd_demo)

    open_ = sub.add_parser("open", parents=[tui],
                           help="open a session file or journal in the workbench")
    open_.add_argument("file", help="a session .json file or a journal directory")
    open_.add_argument("--allow-public-peers", action="store_true", help=PUBLIC_PEERS_HELP)
    open_.set_defaults(run=_cmd_open)

    replay = sub.add_parser("replay", help="run a session against live peers and compare")
    replay.add_argument("file", help="a session .json file or a journal directory")
    replay.add_argument("--timeout", type=_seconds(TIMEOUT_MAX), default=5.0, metavar="SECONDS",
                        help="how long to wait for expected bytes, an accept or a step at "
                             f"each point: over 0, up to {TIMEOUT_MAX:g} (default 5)")
    replay.add_argument("--max-wait", type=_seconds(MAX_WAIT_MAX, True, MAX_WAIT), default=MAX_WAIT,
                        metavar="SECONDS",
                        help="the longest a wait step's seconds or an expect's timeout may be, "
                             f"0-{MAX_WAIT_MAX:g} (default {MAX_WAIT:g}); a file with a longer "
                             "one is refused (exit 2) before anything starts")
    replay.add_argument("--allow-public-peers", action="store_true", help=PUBLIC_PEERS_HELP)
    replay.add_argument("--journal", metavar="DIR", help="journal the replay's steps to DIR")
    replay.add_argument("--json", action="store_true", help="print a JSON report")
    replay.set_defaults(run=_cmd_replay)

    peer = sub.add_parser("peer", help="run a built-in peer (echo, discard, chargen, daytime)")
    peer.add_argument("kind", help="echo | discard | chargen | daytime")
    peer.add_argument("address", help="e.g. 127.0.0.1:7007, [::1]:0, unix:/tmp/echo.sock")
    peer.add_argument("--udp", "--dgram", action="store_true", dest="dgram",
                      help="serve datagrams (UDP, or unix-dgram for a unix: address)")
    peer.add_argument("--seqpacket", action="store_true", help="unix SOCK_SEQPACKET")
    peer.set_defaults(run=_cmd_peer)

    err = sub.add_parser("errno", help="explain an errno by name or number")
    err.add_argument("key", nargs="?", help="e.g. ECONNREFUSED or 111; omit to list all")
    err.add_argument("--json", action="store_true")
    err.set_defaults(run=_cmd_errno)

    recover = sub.add_parser(
        "recover", help="turn a journal into a session file",
        description="Turn a journal into a session file, written atomically with mode "
                    "0600 (big payloads in a NAME.data sidecar beside it). A journal whose "
                    "data.bin holds fewer bytes than its steps refer to is refused (exit 2): "
                    "the message names the lines and the bytes missing, and no file is "
                    "written, since those steps cannot be brought back as they were.")
    recover.add_argument("journal", help="a journal directory")
    recover.add_argument("-o", "--output", required=True,
                         help="session file to write: a new or regular file (a symlink, "
                              "device, FIFO or folder is refused)")
    recover.set_defaults(run=_cmd_recover)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = getattr(args, "run", _cmd_tui)
    try:
        return run(args)
    except InputError as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        return 130


# -- commands ---------------------------------------------------------------------------


def _cmd_tui(args: argparse.Namespace) -> int:
    from workbench.ui.app import run_app

    return run_app(lossless=args.lossless)


def _cmd_open(args: argparse.Namespace) -> int:
    from workbench.io.sessionfile import load_session
    from workbench.ui.app import run_app

    session = load_session(args.file)  # bad files fail here, before the screen opens
    if not args.allow_public_peers:
        from workbench.io.peerset import check_loopback

        check_loopback(session.peers)
    return run_app(session=session, path=args.file, lossless=args.lossless,
                   allow_public_peers=args.allow_public_peers)


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.headless:
        from workbench.io.demo import run_headless_demo

        return run_headless_demo(sys.stdout)
    from workbench.ui.app import run_app

    return run_app(demo=True, lossless=args.lossless)


def _cmd_replay(args: argparse.Namespace) -> int:
    from workbench.io.journal import Journal, is_journal
    from workbench.io.replay import check_limits, replay_session
    from workbench.io.sessionfile import load_session

    session = load_session(args.file)
    check_limits(session, args.timeout, args.max_wait, args.allow_public_peers)
    if args.journal and is_journal(args.journal):  # a second header would break it
        raise InputError(f"{args.journal} already holds a journal; choose a new directory")
    try:
        journal = Journal(args.journal) if args.journal else None
    except OSError as exc:
        raise InputError(f"cannot write a journal in {args.journal}: {exc.strerror}; "
                         "choose a writable directory") from None
    try:
        report = replay_session(session, target=args.file, timeout=args.timeout,
                                journal=journal, max_wait=args.max_wait,
                                allow_public_peers=args.allow_public_peers)
    finally:
        session.close()
        if journal is not None:
            journal.close()  # every line and byte written before the command ends
    if report.live is not None:
        report.live.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif report.ok:
        print(f"{args.file}: match ({report.steps_run} steps in {report.duration:.2f} s)")
    else:
        print(f"{args.file}: {len(report.mismatches)} mismatch(es)")
        for mismatch in report.mismatches:
            print(mismatch.render())
    return OK if report.ok else MISMATCH


def _cmd_peer(args: argparse.Namespace) -> int:
    from workbench.core.endpoints import parse_endpoint
    from workbench.io.peers import Peer, serve_forever

    endpoint = parse_endpoint(args.address)
    if endpoint.kind in ("host", "peer"):
        raise InputError(f"peer address {args.address!r} must be an IP literal or unix: path")
    if endpoint.kind == "unix":
        transport = "unix-seqpacket" if args.seqpacket else (
            "unix-dgram" if args.dgram else "unix-stream")
    else:
        transport = "udp" if args.dgram else "tcp"
    try:
        peer = Peer(args.kind, transport, endpoint.sockaddr()).start()
    except OSError as exc:
        from workbench.core.errnos import from_oserror

        info = from_oserror(exc)
        raise InputError(f"cannot listen on {args.address}: {info.name} ({info.meaning}); "
                         f"{info.hint}") from None
    return serve_forever(peer)


def _cmd_errno(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from workbench.core.errnos import all_errnos, lookup

    if args.key is None:
        infos = all_errnos()
    else:
        try:
            infos = [lookup(args.key)]
        except KeyError:
            raise InputError(f"unknown errno {args.key!r}: use a name like ECONNREFUSED "
                             "or a number like 111") from None
    if args.json:
        print(json.dumps([asdict(i) for i in infos], indent=2))
        return OK
    for info in infos:
        print(f"{info.name} ({info.number}): {info.message}")
        if args.key is not None:
            print(f"  meaning: {info.meaning}\n  try: {info.hint}")
    return OK


def _cmd_recover(args: argparse.Namespace) -> int:
    from workbench.io.journal import is_journal
    from workbench.io.sessionfile import load_session, save_session

    if not is_journal(args.journal):
        raise InputError(f"{args.journal}: not a journal directory (no steps.jsonl)")
    session = load_session(args.journal)
    try:
        save_session(session, args.output)
    except OSError as exc:
        raise InputError(f"cannot write {args.output}: {exc.strerror}; "
                         "choose a path in a writable directory") from None
    print(f"{args.output}: {len(session.steps)} steps recovered")
    return OK


if __name__ == "__main__":
    sys.exit(main())
