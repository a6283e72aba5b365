"""The import contract between the layers, read from the source (nothing is imported).

- `workbench/core` is pure: nothing from `workbench.io`, `workbench.ui`,
  `workbench.export` or `textual`.
- `workbench/io` and `workbench/export` are headless: nothing from `workbench.ui` or
  `textual`.
- `workbench/ui` reaches `workbench.io` through the workspace only, plus the engine's
  event and snapshot types and the few modules allowed below, each for a stated reason.

Every import counts: at module level, inside functions, under `TYPE_CHECKING`, relative
ones, and `importlib.import_module("...")` / `__import__("...")` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workbench"

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "core": ("workbench.io", "workbench.ui", "workbench.export", "textual"),
    "io": ("workbench.ui", "textual"),
    "export": ("workbench.ui", "textual"),
}

# What `workbench/ui` may take from `workbench.io`: the module, the names it may import
# from it (None: any), and why.
ENGINE_TYPES = frozenset({"CallStarted", "SocketChanged", "StepDone", "SocketInfo",
                          "EngineEvent"})
UI_FROM_IO: dict[str, tuple[frozenset[str] | None, str]] = {
    "workbench.io.workspace": (None, "the UI's front door: steps, sockets, peers, files"),
    "workbench.io.engine": (ENGINE_TYPES, "event and snapshot types the views receive"),
    "workbench.io.capture": (None, "the hex view reads a socket's CaptureStore and its "
                                   "NotKeptError, which the workspace hands out"),
    "workbench.io.replay": (None, "stepping through a loaded session runs its Replayer"),
    "workbench.io.peers": (None, "the peer form offers the built-in KINDS and TRANSPORTS"),
    "workbench.io.demo": (None, "the demo greeting text the app shows and sends"),
    "workbench.io.atomic_write": (frozenset({"SaveTargetError", "atomic_file"}),
                                  "the hex view and the export screen save files the way "
                                  "session files are saved"),
    "workbench.io.conns.source": (
        frozenset({"ConnSource", "Snapshot", "WANT_INFO", "WANT_SKMEM", "bind_warning",
                   "default_source"}),
        "the Conns pane pulls the machine's connection table in its own worker; the bind "
        "form asks whether an address is held"),
}


def _in(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    """The dotted name of a source file under `root` (a package dir), and if it is a package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path, root: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) for every import in a file; names is () for `import x`."""
    module, is_package = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, is_package)
            yield node.lineno, source, tuple(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and _is_dynamic_import(node.func):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value, ()


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _targets(source: str, names: tuple[str, ...]) -> list[str]:
    """The modules an import may load: `from a.b import c` may be module a.b.c too."""
    return [source] + [f"{source}.{name}" for name in names if name != "*"]


def _ui_problem(source: str, names: tuple[str, ...]) -> str:
    """Why a ui import from workbench.io breaks the contract ("" if it does not)."""
    if source == "workbench.io":
        # `from workbench.io import workspace`: each name is a module of the package.
        return next((p for n in names if (p := _ui_problem(f"workbench.io.{n}", ()))), "")
    for allowed, (only, _why) in UI_FROM_IO.items():
        if source == allowed:
            if only is None:
                return ""
            if not names:
                return f"imports all of {allowed}; take only {', '.join(sorted(only))}"
            extra = sorted(set(names) - only)
            return f"takes {', '.join(extra)} from {allowed}" if extra else ""
        if source.startswith(allowed + "."):
            return f"reaches inside {allowed} ({source})" if only is not None else ""
    return f"{source} is not in the ui allow-list"


def violations(root: Path) -> list[str]:
    """Every import in the package at `root` that breaks the layer contract."""
    found = []
    for path in sorted(root.rglob("*.py")):
        layer = path.relative_to(root).parts[0]
        where = path.relative_to(root.parent)
        for line, source, names in imports(path, root):
            for prefix in FORBIDDEN.get(layer, ()):
                hits = [t for t in _targets(source, names) if _in(t, prefix)]
                if hits:
                    found.append(f"{where}:{line}: {layer} imports {hits[0]}")
                    break
            if layer == "ui" and any(_in(t, "workbench.io") for t in _targets(source, names)):
                problem = _ui_problem(source, names)
                if problem:
                    found.append(f"{where}:{line}: ui {problem}")
    return found


def test_the_layers_keep_their_import_contract() -> None:
    assert (PACKAGE / "core").is_dir() and (PACKAGE / "ui").is_dir()
    assert violations(PACKAGE) == []


def test_the_allow_list_is_in_use() -> None:
    """Each allowed module is imported by the ui today: a stale entry is removed."""
    used = {source for path in (PACKAGE / "ui").rglob("*.py")
            for _line, source, _names in imports(path, PACKAGE)}
    assert set(UI_FROM_IO) <= used, set(UI_FROM_IO) - used


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_checker_reports_forbidden_imports(tmp_path: Path) -> None:
    root = tmp_path / "workbench"
    for package in ("", "core/", "io/", "export/", "ui/", "ui/widgets/"):
        _write(root, f"{package}__init__.py", "")
    _write(root, "core/clean.py", "from workbench.core.steps import Step\nimport json\n")
    _write(root, "core/bad.py", "from workbench.io.engine import Engine\n")
    _write(root, "core/sneaky.py", "def f():\n    from ..ui import app\n")
    _write(root, "core/typed.py", "from typing import TYPE_CHECKING\n"
                                  "if TYPE_CHECKING:\n    import textual.app\n")
    _write(root, "core/dynamic.py",
           "import importlib\nimportlib.import_module('workbench.export')\n")
    _write(root, "io/bad.py", "from textual.widgets import Static\n")
    _write(root, "io/fine.py", "from workbench.core.ops import OPS\n")
    _write(root, "export/bad.py", "from workbench import ui\n")
    _write(root, "ui/fine.py", "from workbench.io.workspace import Workspace\n"
                               "from workbench.io.engine import StepDone, SocketInfo\n"
                               "from workbench.io import workspace\nimport textual\n")
    _write(root, "ui/widgets/bad.py", "from workbench.io.engine import Engine, StepDone\n"
                                      "from workbench.io.journal import Journal\n"
                                      "import workbench.io.engine\n"
                                      "from workbench.io.engine.api import Engine\n"
                                      "from ...io import addresses\n")

    found = violations(root)
    assert found == [
        "workbench/core/bad.py:1: core imports workbench.io.engine",
        "workbench/core/dynamic.py:2: core imports workbench.export",
        "workbench/core/sneaky.py:2: core imports workbench.ui",
        "workbench/core/typed.py:3: core imports textual.app",
        "workbench/export/bad.py:1: export imports workbench.ui",
        "workbench/io/bad.py:1: io imports textual.widgets",
        "workbench/ui/widgets/bad.py:1: ui takes Engine from workbench.io.engine",
        "workbench/ui/widgets/bad.py:2: ui workbench.io.journal is not in the ui allow-list",
        "workbench/ui/widgets/bad.py:3: ui imports all of workbench.io.engine; take only "
        "CallStarted, EngineEvent, SocketChanged, SocketInfo, StepDone",
        "workbench/ui/widgets/bad.py:4: ui reaches inside workbench.io.engine "
        "(workbench.io.engine.api)",
        "workbench/ui/widgets/bad.py:5: ui workbench.io.addresses is not in the ui allow-list",
    ]
