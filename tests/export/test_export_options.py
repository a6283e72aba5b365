"""Every option value the catalog can set exports as exactly the bytes the workbench
gives setsockopt (`encode_option`): the C value, compiled and dumped, and the Python
expression, evaluated, both equal them; the programs of a session setting every
option build with the strict flags, for POSIX and for Windows."""

from __future__ import annotations

import ctypes
import shutil
import socket
import struct
import subprocess
from pathlib import Path

import pytest
from export_sessions import built, step

from workbench.core.options import (
    OptionSpec,
    all_options,
    encode_option,
    parse_option_value,
)
from workbench.core.packets import bpf
from workbench.export.c import export_c
from workbench.export.c_options import extra_includes, setsockopt_lines
from workbench.export.c_runtime import INCLUDES
from workbench.export.plan import Option, make_plan
from workbench.export.py_options import option_value
from workbench.export.python import export_python

GCC = shutil.which("gcc")
MINGW = shutil.which("x86_64-w64-mingw32-gcc")
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# Values beyond each option's example: an interface index, none of an ICMPv6 type, all.
MORE = {"IP_ADD_MEMBERSHIP": ["239.255.0.1 1", "239.255.0.1"], "ICMP6_FILTER": ["none", "all"],
        "IP_OPTIONS": ["(none)"], "SO_ATTACH_FILTER": ["icmp host 127.0.0.1"],
        "SO_BINDTODEVICE": ["(none)"]}


def settable() -> list[tuple[OptionSpec, str]]:
    """(option, value as typed) for every option that can be set, on this machine."""
    out = []
    for spec in all_options():
        if spec.readonly or not spec.example:
            continue
        out += [(spec, text) for text in [spec.example, *MORE.get(spec.name, [])]]
    return out


def session_setting_all() -> tuple[object, list[tuple[OptionSpec, str]]]:
    """One socket per option value, of a family and type it applies to, setting it."""
    steps, cases = [], settable()
    for sid, (spec, text) in enumerate(cases, 1):
        family = next(f for f in spec.families if f != "packet")
        kind = {"type": spec.types[0]}
        if spec.types[0] == "raw":
            kind["proto"] = "icmp" if family == "inet" else "icmpv6"
        steps += [step("socket", result={"sock": sid}, family=family, **kind),
                  step("setsockopt", sid, option=spec.name,
                       value=parse_option_value(spec, text))]
    return built(*steps), cases


def expected_bytes(option: Option, spec: OptionSpec, value: object) -> bytes:
    if option.kind == "bpf":
        return option.encoded
    encoded = encode_option(spec, value)
    return struct.pack("i", encoded) if isinstance(encoded, int) else encoded


def test_python_values_are_the_bytes_setsockopt_takes() -> None:
    session, cases = session_setting_all()
    plan = make_plan(session)  # type: ignore[arg-type]
    defined: list[str] = []
    sets = [c for c in plan.calls if c.op == "setsockopt"]
    for call, (spec, text) in zip(sets, cases, strict=True):
        assert call.option is not None
        space: dict[str, object] = {"socket": socket, "struct": struct, "ctypes": ctypes}
        expression = option_value(call.option, call.seq, defined.append)
        for definition in defined:
            exec(definition, space)
        got = eval(expression, space)
        value = parse_option_value(spec, text)
        if call.option.kind == "bpf":
            count, address = struct.unpack("HP", got)
            assert count == len(call.option.program)
            assert ctypes.string_at(address, count * 8) == call.option.encoded
        else:
            want = encode_option(spec, value)
            assert got == want, (spec.name, text, expression)


def dump_program(options: list[Option]) -> str:
    """A C program that prints the bytes of each option's `v`, as the export declares it."""
    blocks = []
    for option in options:
        lines = [line for line in setsockopt_lines(option, 1)
                 if not line.startswith(("rc = ", "WSASetLastError"))]
        size = {"string": "sizeof v - 1", "bpf": "sizeof code"}.get(option.kind, "sizeof v")
        if option.kind == "bytes" and not option.encoded:
            lines, size = ["static const unsigned char v[1] = {0};"], "0"
        what = "v"
        if option.kind == "bpf":  # the struct points at the filter: dump the filter
            what, lines = "code", [*lines, "if (v.len * 8 != sizeof code || v.filter != code)",
                                   "    return 1;"]
        blocks += ["    {", *(f"        {line}" if not line.startswith("#") else line
                             for line in lines),
                   f"        dump((const unsigned char *)&{what}, {size});", "    }"]
    return "\n".join([
        INCLUDES.replace("#define IO_LEN", "#define UNUSED_IO_LEN"),
        *extra_includes({o.kind for o in options}),
        "static void dump(const unsigned char *p, size_t n)", "{", "    size_t i;",
        "    for (i = 0; i < n; i++)", '        printf("%02x", p[i]);', '    printf("\\n");',
        "}", "int main(void)", "{", *blocks, "    return 0;", "}", ""])


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_c_values_are_the_bytes_setsockopt_takes(tmp_path: Path) -> None:
    session, cases = session_setting_all()
    plan = make_plan(session)  # type: ignore[arg-type]
    options = [c.option for c in plan.calls if c.op == "setsockopt" and c.option is not None]
    source, binary = tmp_path / "dump.c", tmp_path / "dump"
    source.write_text(dump_program(options))
    done = subprocess.run([str(GCC), *CFLAGS, "-o", str(binary), str(source)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60,
                           check=True).stdout.splitlines()
    for option, line, (spec, text) in zip(options, lines, cases, strict=True):
        if option.kind == "timeval":
            continue  # struct timeval: the same two numbers Python packs as "ll"
        want = expected_bytes(option, spec, parse_option_value(spec, text))
        assert bytes.fromhex(line) == want, (spec.name, text)


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
@pytest.mark.parametrize("model", ["blocking", "poll"])
def test_a_program_setting_every_option_builds(model: str, tmp_path: Path) -> None:
    session, _ = session_setting_all()
    source = tmp_path / "all.c"
    source.write_text(export_c(session, model))  # type: ignore[arg-type]
    done = subprocess.run([str(GCC), *CFLAGS, "-o", str(tmp_path / "all"), str(source)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(MINGW is None, reason="the mingw-w64 cross compiler is not installed")
def test_a_program_setting_every_option_builds_for_windows(tmp_path: Path) -> None:
    session, _ = session_setting_all()
    source = tmp_path / "all.c"
    source.write_text(export_c(session, "poll"))  # type: ignore[arg-type]
    done = subprocess.run([str(MINGW), *CFLAGS, "-o", str(tmp_path / "all.exe"), str(source),
                           "-lws2_32"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("model", ["blocking", "selectors", "asyncio"])
def test_a_python_program_setting_every_option_compiles(model: str) -> None:
    session, _ = session_setting_all()
    compile(export_python(session, model), "program.py", "exec")  # type: ignore[arg-type]


def test_a_filter_is_compiled_for_the_sockets_link() -> None:
    """A raw IP socket's packets start with the IP header, as the engine compiles it."""
    session, _ = session_setting_all()
    plan = make_plan(session)  # type: ignore[arg-type]
    option = next(c.option for c in plan.calls if c.option and c.option.kind == "bpf")
    assert option is not None
    program = bpf.compile_filter(bpf.parse(option.value, "ip"))
    assert option.encoded == bpf.program_bytes(program)
