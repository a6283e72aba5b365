"""`workbench export SESSION --lang c|python|json [--io MODEL] [-o FILE]`.

Prints a C or Python program that makes the session's calls and checks them, or the
session's findings as JSON; `-o` writes the file atomically (mode 0600, never through
a symlink). Bad input is one line and exit 2. Imports nothing from textual.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.core.errors import InputError

MODELS = {"c": ("blocking", "poll"), "python": ("blocking", "selectors", "asyncio"),
          "json": ()}


def add_export(sub: Any) -> None:
    export = sub.add_parser(
        "export", help="turn a session into a C or Python program, or JSON findings",
        description="Turn a session into a program that makes the same calls with the same "
                    "bytes and checks that they end as recorded (exit 0, 1 when something "
                    "differs), or into findings about its sockets (--lang json; exit 1 when "
                    "one says an error was met). The "
                    "programs take --peer NAME=ADDRESS and --target N=ADDRESS to run "
                    "against other peers.")
    export.add_argument("file", help="a session .json file or a journal directory")
    export.add_argument("--lang", required=True, metavar="LANG",
                        help="c, python or json (findings)")
    export.add_argument("--io", metavar="MODEL",
                        help="c: blocking (default) or poll; python: blocking (default), "
                             "selectors or asyncio; json takes none")
    export.add_argument("--conns", action="store_true",
                        help="with --lang json: add what the live connection table says "
                             "now of the session's connections and listeners (TIME_WAIT, "
                             "CLOSE_WAIT, a full accept queue, listen overflows)")
    export.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (atomically, mode 0600) instead of stdout; a "
                             "symlink, device, FIFO or folder is refused")
    export.set_defaults(run=cmd_export, buffered=True)


def _choose(lang: str, model: str | None) -> tuple[str, str]:
    key = lang.strip().lower()
    if key not in MODELS:
        raise InputError(f"unknown language {lang[:40]!r}: use c, python or json")
    models = MODELS[key]
    if model is None:
        return key, models[0] if models else ""
    if not models:
        raise InputError("--io does not apply to --lang json: leave it out")
    if model not in models:
        raise InputError(f"--io {model[:40]!r} does not fit --lang {key}: use one of "
                         f"{', '.join(models)}")
    return key, model


def render(session: Any, lang: str, model: str, target: str,
           table: Any = None) -> tuple[str, bool]:
    """The exported text for a loaded session, and whether findings say a call failed."""
    if lang == "c":
        from workbench.export.c import export_c

        return export_c(session, model), False
    if lang == "python":
        from workbench.export.python import export_python

        return export_python(session, model), False
    from workbench.export.findings import analyse

    reports = analyse(session, target, table)
    failed = any(report["status"] == "failure" for report in reports)
    return json.dumps(reports, indent=2) + "\n", failed


def cmd_export(args: argparse.Namespace) -> int:
    from workbench.io.sessionfile import check_session_path, load_session

    lang, model = _choose(args.lang, args.io)
    if args.conns and lang != "json":
        raise InputError("--conns goes with --lang json: the programs take no table")
    check_session_path(args.file)
    session = load_session(args.file)
    try:
        table = live_table() if args.conns else None
        text, failed = render(session, lang, model, args.file, table)
    except ValueError as exc:  # payload bytes that cannot be read back
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{args.file}: {exc}") from None
    finally:
        session.close()
    code = 1 if failed else 0  # the headless rule: a finding of failure is exit 1
    if args.output is None:
        print(text, end="")
        return code
    _write(args.output, text)
    print(f"{args.output}: {lang}{f' ({model})' if model else ''}, "
          f"{len(session.steps)} steps")
    return code


def live_table() -> Any:
    """The TCP and UDP connection table now, as text rows, with the kernel's counters."""
    from workbench.core.conntable import F_RQ, F_WQ, INET_KINDS, address, netid, state_name
    from workbench.export.findings import Table
    from workbench.io.conns.source import default_source

    try:
        source = default_source()
        try:
            snapshot, counters = source.fetch(INET_KINDS), source.counters()
        finally:
            source.close()
    except OSError as exc:
        raise InputError(f"cannot read the connection table: {exc.strerror or exc}; "
                         "leave out --conns") from None
    rows = [{"netid": netid(r), "state": state_name(r), "local": address(r, True),
             "peer": address(r, False), "recv_q": r[F_RQ], "send_q": r[F_WQ]}
            for r in snapshot.rows]
    return Table(rows, counters[1])


def _write(path: str, text: str) -> None:
    from workbench.io.atomic_write import write_atomic

    try:
        write_atomic(path, text.encode("utf-8", "backslashreplace"))  # a lone surrogate
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}; choose a path in a writable "
                         "directory") from None
    except ValueError:  # a NUL or a lone surrogate in the name
        raise InputError(f"{path!r} is not a valid file name") from None
