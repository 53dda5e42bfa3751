"""Bad files, end to end: srlive run as a real process on each one says ONE line on
stderr, exits non-zero (2), prints no traceback and leaves no partial file behind — not the
answer it was asked to write, not the take, not a temporary file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from toy_models import toy_step_model  # a hand-made step.onnx

from srlive.model import runtime
from srlive.takes.filemode import example_take

REPO = Path(__file__).resolve().parents[2]


def truncated(d: Path) -> Path:
    data = (runtime.default_model_path() / "step.onnx").read_bytes()
    (d / "model").mkdir()
    (d / "model" / "step.onnx").write_bytes(data[: len(data) // 3])
    return d / "model"


def foreign(d: Path) -> Path:
    return toy_step_model(d / "foreign" / "step.onnx", names=("input", "z", "t"))


def wrong_shapes(d: Path) -> Path:
    return toy_step_model(d / "shapes" / "step.onnx", bar_shape=(1, 64, 16))


def no_metadata(d: Path) -> Path:
    return toy_step_model(d / "bare" / "step.onnx", meta=None)


def not_onnx(d: Path) -> Path:
    (d / "step.onnx").write_bytes(b"PK\x03\x04 this is a zip, not a model")
    return d / "step.onnx"


def preset(text: str):
    def make(d: Path) -> Path:
        (d / "p.toml").write_text(text)
        return d / "p.toml"
    return make


def srlive(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "srlive", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def assert_refused(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("srlive: "), res.stderr
    assert "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("make, words", [
    (truncated, ["truncated or corrupt"]),
    (not_onnx, ["step.onnx"]),
    (foreign, ["step.onnx"]),
    (wrong_shapes, ["expected [N,1,88,16]"]),
    (no_metadata, ["no srlive metadata"]),
], ids=["truncated", "not-onnx", "foreign", "wrong-shapes", "no-metadata"])
def test_a_bad_model_is_refused_in_one_line_and_writes_nothing(tmp_path, make, words):
    model = make(tmp_path)
    take = tmp_path / "take.mid"
    shutil.copy(example_take(), take)
    before = set(tmp_path.rglob("*"))
    res = srlive("--in", str(take), "--out", str(tmp_path / "answer.mid"), "--model", str(model), cwd=tmp_path)
    assert_refused(res, *words)
    assert set(tmp_path.rglob("*")) == before  # no answer.mid, no temporary file


@pytest.mark.parametrize("text, words", [
    ("moode = 'solo'\n", ["'moode'"]),
    ("threshold = 7\n", ["threshold"]),
    ("mode = 'jazz'\n", ["mode", "accompany"]),
    ("tempo = [\n", ["p.toml"]),
], ids=["unknown-key", "bad-value", "bad-choice", "not-toml"])
def test_a_bad_preset_is_refused_in_one_line_and_writes_nothing(tmp_path, text, words):
    path = preset(text)(tmp_path)
    before = set(tmp_path.rglob("*"))
    res = srlive("--preset", str(path), "--demo", str(tmp_path / "answer.mid"), cwd=tmp_path)
    assert_refused(res, *words)
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("content", [b"MThd\x00\x00", b"", b"RIFF....WAVEfmt ", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x90"],
                         ids=["cut-header", "empty", "a-wav", "cut-track"])
def test_an_unreadable_midi_file_in_file_mode_is_refused_and_writes_nothing(tmp_path, content):
    (tmp_path / "bad.mid").write_bytes(content)
    before = set(tmp_path.rglob("*"))
    res = srlive("--in", str(tmp_path / "bad.mid"), "--out", str(tmp_path / "answer.mid"), cwd=tmp_path)
    assert_refused(res, "bad.mid")
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("where", ["missing-folder", "a-folder", "under-a-file"])
def test_a_record_path_that_cant_be_written_is_refused_before_anything_starts(tmp_path, where):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "takes").mkdir()
    path = {"missing-folder": tmp_path / "nowhere" / "take.mid", "a-folder": tmp_path / "takes",
            "under-a-file": tmp_path / "file.txt" / "take.mid"}[where]
    before = set(tmp_path.rglob("*"))
    res = srlive("--in", "performer", "--tempo", "120", "--record", str(path), cwd=tmp_path)
    assert_refused(res, "--record")
    assert set(tmp_path.rglob("*")) == before
