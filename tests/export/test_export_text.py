"""The generated text: every example in every model is valid Python or C, literals hold
exactly the payload bytes, options become the right structs, bad models are refused."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest
from export_sessions import EXAMPLES, built, step

from workbench.export.c import LITERAL_MAX, _array, _c_bytes, export_c
from workbench.export.plan import ExportError
from workbench.export.python import export_python
from workbench.io.sessionfile import load_session

GCC = shutil.which("gcc")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
TRICKY = b"??=??/\x00" + b"1\x7f\x80\xff\"\\\r\n\t" + bytes(range(256))


def syntax_ok_c(source: str, tmp: Path) -> None:
    if GCC is None:
        pytest.skip("gcc is not installed")
    path = tmp / "program.c"
    path.write_text(source)
    done = subprocess.run([GCC, *CFLAGS, "-fsyntax-only", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_valid_python_in_every_model(path: Path) -> None:
    session = load_session(path)
    for model in ("blocking", "selectors", "asyncio"):
        source = export_python(session, model)
        ast.parse(source)
        assert "import textual" not in source and f"I/O model: {model}" in source


def test_a_c_literal_holds_exactly_its_bytes_and_no_trigraph(tmp_path: Path) -> None:
    text = _c_bytes(TRICKY)
    assert "??" not in text and "\\?\\?=" in text
    assert text.startswith('"\\?\\?=\\?\\?/\\0001')  # an octal escape never eats a digit
    program = ("#include <stdio.h>\n" + _array("d", TRICKY) +
               f"\nint main(void) {{ fwrite(d, 1, {len(TRICKY)}, stdout); return 0; }}\n")
    if GCC is None:
        pytest.skip("gcc is not installed")
    (tmp_path / "p.c").write_text(program)
    subprocess.run([GCC, *CFLAGS, "-o", str(tmp_path / "p"), str(tmp_path / "p.c")],
                   check=True, timeout=60)
    assert subprocess.run([str(tmp_path / "p")], capture_output=True, timeout=30,
                          check=True).stdout == TRICKY


def test_a_long_payload_is_an_array_that_iso_compilers_take() -> None:
    assert _array("d", b"x" * LITERAL_MAX).count('"') >= 2
    long = _array("d", bytes(range(256)) * 20)
    assert '"' not in long and "0x00, 0x01" in long and "0xff" in long


def test_option_structs_in_both_languages(tmp_path: Path) -> None:
    session = built(step("socket", result={"sock": 1}),
                    step("setsockopt", 1, option="SO_LINGER", value={"on": True, "seconds": 0}),
                    step("setsockopt", 1, option="SO_RCVTIMEO", value=2.5),
                    step("setsockopt", 1, option="SO_RCVBUF", value=65536),
                    step("getsockopt", 1, {"value": 0}, option="TCP_INFO"),
                    step("close", 1))
    c = export_c(session, "poll")
    assert "struct linger v = {1, 0};" in c and "struct timeval v = {2, 500000};" in c
    assert "int v = 65536;" in c and "unsigned char v[256];" in c
    syntax_ok_c(c, tmp_path)
    py = export_python(session)
    assert 'struct.pack("ii", 1, 0)' in py and 'struct.pack("ll", 2, 500000)' in py
    assert "socket.SO_RCVBUF, 65536" in py and "socket.TCP_INFO, 256" in py
    ast.parse(py)


def test_a_model_that_does_not_fit_the_language_is_refused() -> None:
    session = built(step("socket", result={"sock": 1}))
    with pytest.raises(ExportError, match="'asyncio' does not fit C: use one of blocking, poll"):
        export_c(session, "asyncio")
    with pytest.raises(ExportError, match="'poll' does not fit Python"):
        export_python(session, "poll")


def test_the_programs_take_peers_and_targets_with_recorded_defaults() -> None:
    session = load_session(EXAMPLES[0].parent / "tcp-echo.json")
    py = export_python(session)
    assert "PEERS = {'echo': '127.0.0.1:34349'}" in py and "TARGETS = {1: 'peer:echo'}" in py
    c = export_c(session)
    assert 'peer_recorded[NPEERS + 1] = {"127.0.0.1:34349", NULL}' in c
    assert 'target_recorded[NSOCKS + 1] = {NULL, "peer:echo"}' in c


MINGW = shutil.which("x86_64-w64-mingw32-gcc")


@pytest.mark.skipif(MINGW is None, reason="the mingw-w64 cross compiler is not installed")
@pytest.mark.parametrize("model", ["blocking", "poll"])
def test_the_c_programs_build_for_windows_with_winsock(model: str, tmp_path: Path) -> None:
    """The same file builds for Windows (Winsock 2) with mingw-w64, warnings as errors."""
    assert MINGW is not None
    options = built(step("socket", result={"sock": 1}),
                    step("setsockopt", 1, option="SO_LINGER", value={"on": True, "seconds": 0}),
                    step("setsockopt", 1, option="SO_RCVTIMEO", value=2.5),
                    step("getsockopt", 1, {"value": 0}, option="TCP_INFO"),
                    step("socketpair", result={"socks": [2, 3]}),
                    step("set_inheritable", 2, inheritable=True),
                    step("shutdown", 2, how="wr"), step("close", 1))
    sessions = [load_session(p) for p in EXAMPLES] + [options]
    for i, session in enumerate(sessions):
        source = tmp_path / f"p{i}.c"
        source.write_text(export_c(session, model))
        done = subprocess.run([MINGW, *CFLAGS, "-o", str(tmp_path / f"p{i}.exe"), str(source),
                               "-lws2_32"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{session.title}: {done.stderr}"
        assert (tmp_path / f"p{i}.exe").read_bytes()[:2] == b"MZ"


def test_a_step_on_a_socket_no_step_made_is_refused() -> None:
    session = built(step("connect", 4, address="127.0.0.1:9"))
    for export in (export_c, export_python):
        with pytest.raises(ExportError, match="uses socket #4, which no step of the session"):
            export(session)


def test_a_long_c_call_is_cut_after_a_comma_outside_its_strings() -> None:
    from workbench.export.c import _wrapped

    title = '"send(#1, <5 bytes>) \\", quoted, still the string, on and on and on"'
    line = f"if (send_all(3, {title}, 0, 1, data_3, 5, 0) < 0)"
    first, second = _wrapped(line, 90)
    assert title in first and first.endswith(",")  # the literal is whole, cut after it
    assert second.startswith(" " * len("if (send_all(")) and second.endswith("< 0)")
    assert _wrapped("if (f(1, 2) < 0)") == ["if (f(1, 2) < 0)"]
