"""benchmarks.torch_vs_onnx: the torch twin of the shipped model, timed against onnxruntime
(timings are printed, never asserted)."""

from __future__ import annotations

import io
import json

import pytest

from benchmarks import torch_vs_onnx

KEYS = {"provider", "steps", "block", "p50_ms", "p99_ms", "max_ms", "torch_p50_ms", "torch_p99_ms", "speedup"}


def test_json_has_all_keys_with_torch():
    pytest.importorskip("torch")
    out = io.StringIO()
    assert torch_vs_onnx.main(["--json", "--steps", "40", "--block", "10"], out=out) == 0
    text = out.getvalue()
    result = json.loads(text.strip().splitlines()[-1])
    assert KEYS <= set(result)
    assert result["provider"] == "CPUExecutionProvider" and result["steps"] == 40 and result["block"] == 10
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["torch_p50_ms"] > 0 and result["speedup"] > 0
    assert result["torch_onnx_max_abs_diff"] <= 1e-4  # the torch twin really has the same weights
    assert "speedup" in text and "same weights" in text


def test_a_model_folder_that_is_not_there_is_one_line_exit_2(tmp_path, capsys):
    assert torch_vs_onnx.main(["--model", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("torch_vs_onnx: ") and len(err.splitlines()) == 1
