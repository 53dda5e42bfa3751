"""benchmarks.torch_vs_onnx: the torch twin of a model (a VAE-GAN's from its ONNX file, the shipped
step decoder's from its checkpoint), timed against onnxruntime (timings are printed, never asserted)."""

from __future__ import annotations

import io
import json

import pytest

from benchmarks import torch_vs_onnx

KEYS = {"provider", "steps", "block", "p50_ms", "p99_ms", "max_ms", "torch_p50_ms", "torch_p99_ms", "speedup"}


@pytest.fixture(scope="module")
def live_model(tmp_path_factory):
    """An exported untrained `live` VAE-GAN: its torch twin is rebuilt from the ONNX file itself."""
    pytest.importorskip("torch")
    from srlive_export import cli

    out = tmp_path_factory.mktemp("bench") / "live"
    assert cli.main(["--untrained", "live", "--out", str(out), "--n-real", "20", "--n-random", "20"]) == 0
    return out


def test_json_has_all_keys_with_torch(live_model):
    out = io.StringIO()
    assert torch_vs_onnx.main(["--json", "--model", str(live_model), "--steps", "40", "--block", "10"], out=out) == 0
    text = out.getvalue()
    result = json.loads(text.strip().splitlines()[-1])
    assert KEYS <= set(result)
    assert result["provider"] == "CPUExecutionProvider" and result["steps"] == 40 and result["block"] == 10
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["torch_p50_ms"] > 0 and result["speedup"] > 0
    assert result["torch_onnx_max_abs_diff"] <= 1e-4  # the torch twin really has the same weights
    assert "speedup" in text and "same weights" in text


def test_the_shipped_step_decoder_is_timed_against_its_checkpoints_torch_model():
    pytest.importorskip("torch")
    out = io.StringIO()
    assert torch_vs_onnx.main(["--json", "--steps", "10", "--block", "5"], out=out) == 0
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert result["steps"] == 10 and result["torch_onnx_max_abs_diff"] <= 1e-4


def test_a_step_decoder_without_its_checkpoint_is_one_line_exit_2(tmp_path, capsys):
    pytest.importorskip("torch")
    assert torch_vs_onnx.main(["--checkpoint", str(tmp_path / "none.pt"), "--steps", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("torch_vs_onnx: ") and "--checkpoint" in err and len(err.splitlines()) == 1


def test_a_model_folder_that_is_not_there_is_one_line_exit_2(tmp_path, capsys):
    assert torch_vs_onnx.main(["--model", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("torch_vs_onnx: ") and len(err.splitlines()) == 1


def test_a_model_without_a_torch_twin_is_one_line_exit_2(tmp_path, capsys):
    """The step decoder (or a VAE-GAN of a retired configuration) has no twin to rebuild."""
    pytest.importorskip("torch")
    from srlive_export import cli

    out = tmp_path / "phrase"
    assert cli.main(["--untrained", "phrase", "--out", str(out), "--n-real", "20", "--n-random", "20"]) == 0
    capsys.readouterr()
    assert torch_vs_onnx.main(["--model", str(out), "--steps", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("torch_vs_onnx: ") and len(err.splitlines()) == 1 and "Traceback" not in err
