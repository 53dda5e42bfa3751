"""What the performer's package may import: nothing from training, export, torch or the JACK
benchmark harness, at module level or inside a function. Read statically (every srlive/**/*.py
parsed with ast), and checked once for real: importing the live tool's entry points loads no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "srlive"
FORBIDDEN = ("srlive_training", "srlive_export", "torch", "benchmarks")
# Files allowed some of FORBIDDEN, and which: none (the torch comparison of the model step lives in
# benchmarks/torch_vs_onnx.py). A file that needs one is listed here with a reason.
EXCEPTIONS: dict[str, frozenset[str]] = {}


def imported_roots(source: str) -> set[str]:
    """The top-level package of every import in the source, wherever the import statement is."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_imported_roots_sees_imports_inside_functions():
    source = "import os\ndef f():\n    import torch.nn as nn\n    from srlive_training.model import VAEGAN\n"
    assert imported_roots(source) == {"os", "torch", "srlive_training"}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_srlive_imports_nothing_from_training_export_torch_or_benchmarks(path):
    name = path.relative_to(REPO).as_posix()
    allowed = EXCEPTIONS.get(name, frozenset())
    bad = sorted((imported_roots(path.read_text()) & set(FORBIDDEN)) - allowed)
    assert not bad, f"{name} imports {', '.join(bad)}: the performer's package must not"


def test_the_exceptions_name_real_files_that_still_need_them():
    for name, allowed in EXCEPTIONS.items():
        assert imported_roots((REPO / name).read_text()) & allowed, f"{name} no longer needs its exception"


def test_the_live_tool_loads_without_torch():
    code = "import srlive.cli, srlive.live.engine, srlive.takes.filemode; import sys; assert 'torch' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
