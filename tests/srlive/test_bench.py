"""srlive.bench: the figures are there (timings are printed, never asserted)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from srlive import bench, roll

KEYS = {"provider", "steps", "p50_ms", "p99_ms", "max_ms", "rss_mb", "torch_p50_ms", "torch_p99_ms", "speedup"}


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_json_has_all_keys_with_torch():
    pytest.importorskip("torch")
    out = io.StringIO()
    assert bench.run(steps=40, as_json=True, out=out, block=10) == 0
    result = _last_json(out.getvalue())
    assert KEYS <= set(result)
    assert result["provider"] == "CPUExecutionProvider" and result["steps"] == 40
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert 0 <= result["cpu_p50_ms"] <= result["cpu_p99_ms"]
    assert result["rss_mb"] > 10
    assert result["torch_p50_ms"] > 0 and result["speedup"] > 0
    assert result["torch_onnx_max_abs_diff"] <= 1e-4  # the torch twin really has the same weights


def test_json_without_torch_has_nulls(capsys):
    assert bench.main(["--json", "--steps", "30", "--no-torch"]) == 0
    result = _last_json(capsys.readouterr().out)
    assert KEYS <= set(result)
    assert result["torch_p50_ms"] is None and result["torch_p99_ms"] is None and result["speedup"] is None


def test_bad_model_is_one_line_exit_2(tmp_path, capsys):
    assert bench.main(["--model", str(tmp_path / "none"), "--no-torch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srlive: ") and len(err.splitlines()) == 1


def test_music_like_bars_look_like_music():
    bars = bench.music_like_bars(50, np.random.default_rng(0))
    assert bars.shape == (50, 88, 16) and bars.dtype == np.float32
    notes = [roll.roll_to_notes(b, threshold=1e-3) for b in bars]
    counts = np.array([len(n) for n in notes])
    assert counts.min() >= 2 and counts.max() <= 40  # sparse, never empty
    assert len({tuple(map(tuple, b.nonzero())) for b in bars}) == 50  # all different
