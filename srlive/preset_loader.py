"""Presets: TOML files whose keys are srlive's long options (srlive.options).

(This loader is srlive.preset_loader, not srlive/presets.py: the name ``srlive.presets`` is the
installed presets/ folder itself — pyproject maps it there — and a module of the same name would
shadow it.)

``--preset NAME`` loads ``presets/NAME.toml`` (installed as the package ``srlive.presets``);
``--preset PATH`` loads that file. The command line overrides a preset. An unknown key, a bad value
or a file that isn't TOML is refused (PresetError) in one line naming the key and what is valid.
"""

from __future__ import annotations

import difflib
import importlib.resources
import sys
from pathlib import Path
from typing import Any

from srlive import options
from srlive.errors import PresetError, UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def preset_dir() -> Path:
    """Where the shipped presets are: the installed srlive.presets package, else the repo's presets/."""
    try:
        return Path(str(importlib.resources.files("srlive.presets")))
    except ModuleNotFoundError:  # running from a checkout: presets/ sits beside srlive/
        return Path(__file__).resolve().parent.parent / "presets"


def list_presets() -> list[str]:
    return sorted(p.stem for p in preset_dir().glob("*.toml"))


def find_preset(name_or_path: str) -> Path:
    p = Path(name_or_path).expanduser()
    if p.suffix == ".toml" or p.is_file() or "/" in name_or_path or "\\" in name_or_path:
        if not p.is_file():
            raise PresetError(f"--preset {name_or_path}: no such file; give a preset name "
                              f"({', '.join(list_presets())}) or the path of a .toml file")
        return p
    p = preset_dir() / f"{name_or_path}.toml"
    if not p.is_file():
        raise PresetError(f"--preset {name_or_path}: no such preset; choose {', '.join(list_presets())} "
                          "or give the path of a .toml file")
    return p


def validate(table: dict[str, Any], source: str) -> dict[str, Any]:
    """Check every key and value of a preset table; returns the converted options."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in options.PRESET_KEYS:
            close = difflib.get_close_matches(key, options.PRESET_KEYS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise PresetError(f"preset {source}: unknown key {key!r}; {hint}valid keys: {', '.join(options.PRESET_KEYS)}")
        if isinstance(value, dict) and key != "cc":
            raise PresetError(f"preset {source}: {key} is a table, it must be a value ({options.BY_NAME[key].valid})")
        try:
            out[key] = options.convert(key, value, f"preset {source}: {key} = {value!r}")
        except UserError as e:
            raise PresetError(str(e)) from None
    return out


def load_preset(name_or_path: str) -> dict[str, Any]:
    path = find_preset(name_or_path)
    source = path.stem if path.parent == preset_dir() else str(path)
    try:
        with open(path, "rb") as f:
            table = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise PresetError(f"preset {source}: not valid TOML ({e}); fix the file") from None
    except OSError as e:
        raise PresetError(f"preset {source}: can't read it ({e.strerror})") from None
    return validate(table, source)
