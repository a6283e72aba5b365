"""The `workbench` command: the TUI by default, headless subcommands for scripts.

Exit codes: 0 ok, 1 mismatch or a finding of failure, 2 bad input. Bad input of any
kind (arguments, files, addresses) is one line on stderr, never a traceback. Headless
commands write their output when they end: a reader that leaves early (`| head -1`)
is no error and the command's own exit code stands; output that cannot be written at
all (a full disk, /dev/full) is one line on stderr and exit 2. Headless commands
import nothing from textual.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

from workbench import __version__
from workbench.cli_capture import (
    BUDGET_HELP,
    add_journals_parser,
    budget_arg,
    mark_recovered,
    replay_limits,
)
from workbench.cli_output import (
    CANNOT_WRITE,
    drop_stdout,
    emit,
    one_line,
    say,
    tolerate_unencodable,
    written,
)
from workbench.core.errors import InputError
from workbench.core.sizes import AUTO

OK, MISMATCH, BAD_INPUT = 0, 1, 2
TIMEOUT_MAX, MAX_WAIT, MAX_WAIT_MAX = 3600.0, 60.0, 86400.0
EXIT_CODES = ("Exit codes: 0 ok, 1 mismatch, 2 bad input (one line on stderr), also when "
              "output cannot be written; a reader that stops early (| head) is no error")
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


def _named(what: str, example: str) -> Callable[[str], str]:
    """An argparse type: a non-empty name (an empty one would silently mean nothing)."""

    def named(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"no {what} given: give one, e.g. {example}")
        return text

    return named


def _columns() -> int:
    """The terminal's width as argparse's help reads it (COLUMNS, the terminal, else 80)."""
    with contextlib.suppress(KeyError, ValueError):
        if (columns := int(os.environ["COLUMNS"])) > 0:
            return columns
    with contextlib.suppress(AttributeError, ValueError, OSError):
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    return 80


class _Help(argparse.HelpFormatter):
    """argparse's help, its width read without `shutil` (the default imports it, and
    with it three compression modules, on every run of every command)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         width if width is not None else _columns() - 2)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line: what is wrong and where the help is."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        say(f"workbench: error: {one_line(message)}; see {self.prog} --help")
        raise SystemExit(BAD_INPUT)


# Headless commands whose parser lives in a module of their own: `workbench conns` imports
# only its own module, not every command's, so a script calling it often starts fast.
OWN_MODULES = {
    "errno": ("workbench.cli_errno", "add_errno_parser"),
    "export": ("workbench.cli_export", "add_export"),
    "conns": ("workbench.cli_conns", "add_conns_parser"),
    "options": ("workbench.cli_options", "add_options_parser"),
}


def _add_own(sub: Any, command: str) -> None:
    module, function = OWN_MODULES[command]
    getattr(importlib.import_module(module), function)(sub)


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only` (one of OWN_MODULES), just that command."""
    parser = Parser(
        prog="workbench",
        description="Socket Workbench: open, drive and record TCP, UDP and Unix sockets.",
        epilog="Run without a command to open the workbench on an empty session. "
               + EXIT_CODES + ".",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    parser.add_argument("--lossless", action="store_true",
                        help="with no command: keep every captured byte (see demo --help)")
    parser.add_argument("--capture-budget", type=budget_arg, default=AUTO, metavar="SIZE",
                        help="with no command: received bytes kept (see demo --help)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is not None:
        _add_own(sub, only)
        return parser
    _add_tui_commands(sub)
    _add_replay(sub)
    _add_peer(sub)
    _add_own(sub, "errno")
    _add_recover(sub)
    _add_own(sub, "export")
    add_journals_parser(sub, Parser)
    _add_own(sub, "conns")
    _add_own(sub, "options")
    return parser


def _add_tui_commands(sub: Any) -> None:
    tui = argparse.ArgumentParser(add_help=False)  # options of the commands that open the TUI
    tui.add_argument("--lossless", action="store_true", default=argparse.SUPPRESS,
                     help="keep every captured byte, slowing a flood to what storage "
                          "takes (default: keep up, and mark what could not be kept)")
    tui.add_argument("--capture-budget", type=budget_arg, default=argparse.SUPPRESS,
                     metavar="SIZE", help=BUDGET_HELP)
    demo = sub.add_parser("demo", parents=[tui],
                          help="open the workbench talking to a built-in echo peer")
    demo.add_argument("--headless", action="store_true",
                      help="run the demo exchange without the TUI and print it")
    demo.set_defaults(run=_cmd_demo)
    open_ = sub.add_parser("open", parents=[tui],
                           help="open a session file or journal in the workbench")
    open_.add_argument("file", type=_named("file name", "session.json"),
                       help="a session .json file or a journal directory")
    open_.add_argument("--allow-public-peers", action="store_true", help=PUBLIC_PEERS_HELP)
    open_.set_defaults(run=_cmd_open)


def _add_replay(sub: Any) -> None:
    replay = sub.add_parser("replay", help="run a session against live peers and compare")
    replay.add_argument("file", type=_named("file name", "session.json"),
                        help="a session .json file or a journal directory")
    replay.add_argument("--timeout", type=_seconds(TIMEOUT_MAX), default=5.0, metavar="SECONDS",
                        help="how long to wait for expected bytes, an accept or a step at "
                             f"each point: over 0, up to {TIMEOUT_MAX:g} (default 5)")
    replay.add_argument("--max-wait", type=_seconds(MAX_WAIT_MAX, True, MAX_WAIT), default=MAX_WAIT,
                        metavar="SECONDS",
                        help="the longest a wait step's seconds or an expect's timeout may be, "
                             f"0-{MAX_WAIT_MAX:g} (default {MAX_WAIT:g}); a file with a longer "
                             "one is refused (exit 2) before anything starts")
    replay.add_argument("--allow-public-peers", action="store_true", help=PUBLIC_PEERS_HELP)
    replay.add_argument("--allow-raw", action="store_true",
                        help="approve the raw and packet sockets the session creates (they "
                        "see other programs' traffic); refused without it")
    replay.add_argument("--journal", metavar="DIR", type=_named("directory name", "--journal run1"),
                        help="journal the replay's steps to DIR, a new or empty directory")
    replay.add_argument("--json", action="store_true", help="print a JSON report")
    replay.add_argument("--capture-budget", type=budget_arg, default=AUTO, metavar="SIZE",
                        help=BUDGET_HELP.replace("(default: ", "(default: at least what "
                                                 "the recording kept; ", 1))
    replay.set_defaults(run=_cmd_replay, buffered=True)


def _add_peer(sub: Any) -> None:
    peer = sub.add_parser("peer", help="run a built-in peer (echo, discard, chargen, daytime)")
    peer.add_argument("kind", help="echo | discard | chargen | daytime")
    peer.add_argument("address", help="e.g. 127.0.0.1:7007, [::1]:0, unix:/tmp/echo.sock")
    kinds = peer.add_mutually_exclusive_group()  # one transport: never drop one silently
    kinds.add_argument("--udp", "--dgram", action="store_true", dest="dgram",
                       help="serve datagrams (UDP, or unix-dgram for a unix: address)")
    kinds.add_argument("--seqpacket", action="store_true",
                       help="unix SOCK_SEQPACKET (a unix: address only)")
    peer.set_defaults(run=_cmd_peer)


def _add_recover(sub: Any) -> None:
    recover = sub.add_parser(
        "recover", help="turn a journal into a session file",
        description="Turn a journal into a session file, written atomically with mode "
                    "0600 (big payloads in a NAME.data sidecar beside it). A journal whose "
                    "data.bin holds fewer bytes than its steps refer to is refused (exit 2): "
                    "the message names the lines and the bytes missing, and no file is "
                    "written, since those steps cannot be brought back as they were.")
    recover.add_argument("journal", type=_named("journal name", "journal-dir"),
                         help="a journal directory")
    recover.add_argument("-o", "--output", required=True, type=_named("file name", "-o s.json"),
                         help="session file to write: a new or regular file (a symlink, "
                              "device, FIFO or folder is refused)")
    recover.set_defaults(run=_cmd_recover, buffered=True)


def run() -> NoReturn:
    """The `workbench` command: `main`, then the exit. A command that only reads and
    prints (`fast_exit`) leaves at once, its output flushed: tearing the interpreter
    down would free its table object by object, a tenth of its run time."""
    fast: list[bool] = []
    code = main(fast_exit=fast)
    if fast:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None, fast_exit: list[bool] | None = None) -> int:
    tolerate_unencodable()
    out = io.StringIO()  # help and headless output, written once the exit code is known
    words = list(sys.argv[1:] if argv is None else argv)
    only = words[0] if words and words[0] in OWN_MODULES else None
    try:
        with contextlib.redirect_stdout(out):
            args = _parser(only).parse_args(words)
    except SystemExit as exc:  # --help, --version or a one-line usage error
        return emit(out.getvalue(), exc.code if isinstance(exc.code, int) else BAD_INPUT)
    run: Callable[[argparse.Namespace], int] = getattr(args, "run", _cmd_tui)
    if fast_exit is not None and getattr(args, "fast_exit", False):
        fast_exit.append(True)
    if getattr(args, "streamed", False):  # writes as it goes: a long table is not held
        return written(lambda: _guarded(run, args))
    if not (getattr(args, "buffered", False) or getattr(args, "headless", False)):
        return _guarded(run, args)  # the TUI and a peer own the terminal while they run
    with contextlib.redirect_stdout(out):
        code = _guarded(run, args)
    return emit(out.getvalue(), code)


def _guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return run(args)
    except InputError as exc:
        say(f"workbench: {one_line(str(exc))}")
        return BAD_INPUT
    except KeyboardInterrupt:
        return 130


# -- input files -----------------------------------------------------------------------


def _check_session_path(text: str) -> None:
    from workbench.io.sessionfile import check_session_path

    check_session_path(text)


# -- commands ---------------------------------------------------------------------------


def _cmd_tui(args: argparse.Namespace) -> int:
    from workbench.ui.app import run_app

    return run_app(lossless=args.lossless, capture_budget=args.capture_budget)


def _cmd_open(args: argparse.Namespace) -> int:
    from workbench.io.sessionfile import load_session
    from workbench.ui.app import run_app

    _check_session_path(args.file)
    session = load_session(args.file)  # bad files fail here, before the screen opens
    if not args.allow_public_peers:
        from workbench.io.peerset import check_loopback

        check_loopback(session.peers)
    return run_app(session=session, path=args.file, lossless=args.lossless,
                   allow_public_peers=args.allow_public_peers,
                   capture_budget=args.capture_budget)


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.headless:
        from workbench.io.demo import run_headless_demo

        return run_headless_demo(sys.stdout)
    from workbench.ui.app import run_app

    return run_app(demo=True, lossless=args.lossless, capture_budget=args.capture_budget)


def _cmd_replay(args: argparse.Namespace) -> int:
    from workbench.io.replay import check_limits, replay_session
    from workbench.io.sessionfile import load_session

    _check_session_path(args.file)
    session = load_session(args.file)
    try:
        check_limits(session, args.timeout, args.max_wait, args.allow_public_peers,
                     args.allow_raw)
        journal = _new_journal(args.journal)
    except BaseException:
        session.close()
        raise
    try:
        limits = replay_limits(args.capture_budget, session, args.journal)
        report = replay_session(session, target=args.file, timeout=args.timeout,
                                journal=journal, max_wait=args.max_wait,
                                allow_public_peers=args.allow_public_peers, capture=limits,
                                allow_raw=args.allow_raw)
    finally:
        session.close()
        if journal is not None:
            journal.close()  # every line and byte written before the command ends
    if report.live is not None:
        report.live.close()
    if args.json:
        import json

        print(json.dumps(report.to_json(), indent=2))
    elif report.ok:
        print(f"{args.file}: match ({report.steps} steps, {report.steps_run} calls run, "
              f"in {report.duration:.2f} s)")
    else:
        print(f"{args.file}: {len(report.mismatches)} mismatch(es)")
        for mismatch in report.mismatches:
            print(mismatch.render())
        for found in report.diagnoses:  # why a step failed this time, seen live
            print(f"why step {found['step']}: {found['message']}")
    return OK if report.ok else MISMATCH


@contextlib.contextmanager
def _writing(what: str, advice: str, bad_name: str) -> Iterator[None]:
    """OS errors while writing `what` as one-line input errors."""
    try:
        yield
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot write {what}: {exc.strerror}; {advice}") from None
    except ValueError:  # a NUL or a lone surrogate in the name
        raise InputError(bad_name) from None


def _new_journal(directory: str | None) -> Any:
    """A journal for the replay in a new or empty directory, or None."""
    from workbench.io.journal import Journal, is_journal

    if directory is None:
        return None
    with _writing(f"a journal in {directory}", "choose a writable directory",
                  f"{directory!r} is not a valid directory name"):
        if is_journal(directory):  # a second header would break it
            raise InputError(f"{directory} already holds a journal; choose a new directory")
        return Journal(directory)


def _cmd_peer(args: argparse.Namespace) -> int:
    from workbench.core.endpoints import parse_endpoint
    from workbench.io.peers import Peer, serve_forever

    endpoint = parse_endpoint(args.address)
    if endpoint.kind in ("host", "peer"):
        raise InputError(f"peer address {args.address!r} must be an IP literal or unix: path")
    if args.seqpacket and endpoint.kind != "unix":
        raise InputError(f"--seqpacket needs a unix: address, not {args.address!r}: "
                         "e.g. unix:/tmp/echo.sock")
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
    try:
        return serve_forever(peer)  # the peer is listening: its only OSError is printing
    except BrokenPipeError:
        drop_stdout()
        return OK
    except OSError as exc:
        drop_stdout()
        raise InputError(f"cannot write the output: {exc.strerror or exc}; "
                         f"{CANNOT_WRITE}") from None


def _cmd_recover(args: argparse.Namespace) -> int:
    from workbench.io.journal import is_journal
    from workbench.io.sessionfile import load_session, save_session

    _check_session_path(args.journal)
    if not is_journal(args.journal):
        raise InputError(f"{args.journal}: not a journal directory (no steps.jsonl)")
    session = load_session(args.journal)
    try:
        with _writing(args.output, "choose a path in a writable directory",
                      f"{args.output!r} is not a valid file name"):
            save_session(session, args.output)
    finally:
        session.close()
    print(f"{args.output}: {len(session.steps)} steps recovered")
    mark_recovered(args.journal, args.output, len(session.steps))
    return OK


if __name__ == "__main__":
    sys.exit(main())
