"""The user's settings: `settings.json` in `$XDG_CONFIG_HOME/socket-workbench/`
(default `~/.config/socket-workbench/`).

    {"capture_budget": "2G", "journals_cap": "5G", "free_space_floor": "512M"}

Every key is optional; a size is a string like "64M" or a number of bytes, and
"auto" (the default) or, for the budget and the cap, "none" (no limit). A file that
cannot be read, or holds a bad value or an unknown key, is ignored with a one-line
warning: a settings file never stops the workbench from starting.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.sizes import AUTO, Budget, parse_budget, parse_size

SETTINGS = "settings.json"
MAX_BYTES = 64 << 10  # a settings file is a few lines; anything bigger is not one
EXAMPLE = '{"capture_budget": "2G"}'


@dataclass(frozen=True)
class Settings:
    capture_budget: Budget = AUTO  # received bytes a session may keep
    journals_cap: Budget = AUTO  # bytes all journals together may take
    free_space_floor: Budget = AUTO  # free disk space under which nothing received is kept


def config_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config) / "socket-workbench"


def settings_path() -> Path:
    return config_dir() / SETTINGS


def load_settings(path: Path | None = None) -> tuple[Settings, str]:
    """The settings, and a one-line warning if the file was ignored ("" if not)."""
    path = path or settings_path()
    try:
        with open(path, "rb") as f:  # a FIFO or device here would be the user's own doing
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return Settings(), ""
    except OSError as exc:
        return Settings(), f"{path}: ignored ({exc.strerror}); e.g. {EXAMPLE}"
    try:
        if len(raw) > MAX_BYTES:
            raise InputError(f"over {MAX_BYTES >> 10} KiB")
        return _settings(json.loads(raw)), ""
    except (ValueError, InputError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        reason = " ".join(str(exc).split())[:160]
        return Settings(), f"{path}: ignored ({reason}); e.g. {EXAMPLE}"


def _settings(doc: Any) -> Settings:
    if not isinstance(doc, dict):
        raise InputError("not a JSON object")
    known = {"capture_budget", "journals_cap", "free_space_floor"}
    unknown = sorted(str(k) for k in doc if k not in known)
    if unknown:
        raise InputError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
    values = {key: _size(key, doc[key]) for key in known if key in doc}
    if values.get("free_space_floor", 0) is None:
        raise InputError("free_space_floor cannot be none: use 0 for no floor")
    return Settings(**values)


def _size(key: str, value: Any) -> Budget:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InputError(f"{key} {value} is negative: use e.g. \"2G\"")
        return value
    if not isinstance(value, str):
        raise InputError(f"{key} must be a size like \"2G\", not {type(value).__name__}")
    if key == "free_space_floor" and value.strip().lower() != "none":
        return AUTO if value.strip().lower() == AUTO else parse_size(value, key)
    return parse_budget(value, key)
