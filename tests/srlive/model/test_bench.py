"""srlive.model.bench: the figures are there (timings are printed, never asserted)."""

from __future__ import annotations

import io
import json

from srlive.model import bench

KEYS = {"provider", "steps", "p50_ms", "p99_ms", "max_ms", "cpu_p50_ms", "cpu_p99_ms", "rss_mb"}


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_json_has_all_keys():
    out = io.StringIO()
    assert bench.run(steps=40, as_json=True, out=out) == 0
    result = _last_json(out.getvalue())
    assert KEYS <= set(result)
    assert result["provider"] == "CPUExecutionProvider" and result["steps"] == 40
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert 0 <= result["cpu_p50_ms"] <= result["cpu_p99_ms"]
    assert result["rss_mb"] > 10


def test_the_live_bench_times_onnxruntime_only(capsys):
    assert bench.main(["--json", "--steps", "30"]) == 0
    text = capsys.readouterr().out
    result = _last_json(text)
    assert KEYS <= set(result)
    assert not [k for k in result if k.startswith("torch") or k == "speedup"]
    assert "speedup" not in text


def test_bad_model_is_one_line_exit_2(tmp_path, capsys):
    assert bench.main(["--model", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srlive: ") and len(err.splitlines()) == 1


def test_a_bar_is_timed_as_played_and_at_each_selection_size():
    out = io.StringIO()
    assert bench.run(steps=40, as_json=True, out=out) == 0
    result = _last_json(out.getvalue())
    from srlive.model.runtime import load_runtime

    shipped = load_runtime(None, "cpu")
    assert result["candidates"] == shipped.candidates and result["critic"] == shipped.has_critic  # the model's own
    assert [r["n"] for r in result["selection"]] == list(bench.SELECTION)
    for row in result["selection"]:
        assert row["bars"] >= 50 and 0 < row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert f"bars as played ({shipped.candidates} candidates a bar" in out.getvalue()


def test_a_performers_candidates_are_what_a_bar_as_played_draws(capsys):
    from srlive import cli

    assert cli.main(["--bench", "--json", "--candidates", "8"]) == 0
    text = capsys.readouterr().out
    assert _last_json(text)["candidates"] == 8
    assert "bars as played (8 candidates a bar, critic and selection)" in text


def test_time_bars_goes_through_the_answer_path_with_its_candidates():
    import numpy as np

    class Counting:
        latent, temperature, has_critic = 128, 1.0, False

        def __init__(self):
            self.rows = []

        def candidates_for(self, bars, noise, temperature):
            self.rows.append(len(noise))
            return np.zeros((len(noise), 88, 16), np.float32)

    model = Counting()
    wall, cpu = [], []
    bench.time_bars(model, np.zeros((2, 88, 16), np.float32), 3, 8, wall, cpu)
    assert model.rows == [8, 8, 8] and len(wall) == len(cpu) == 3


def test_a_bar_after_a_rest_is_timed_cold_and_after_the_live_loops_rehearsals():
    from srlive.live.engine import REHEARSE_LEADS
    from srlive.model.runtime import load_runtime

    slept = []
    rows = bench.time_after_rest(load_runtime(None, "cpu"), 1, 2, rest=0.8, sleep=slept.append)
    assert set(rows) == {"cold", "rehearsed"}
    for row in rows.values():
        assert row["bars"] == 2 and 0 < row["p50_ms"] <= row["max_ms"]
    # cold: the whole rest, then the bar; rehearsed: the rest cut at each lead, the last lead before the bar
    first, second = REHEARSE_LEADS
    per_rehearsed_bar = [0.8 - first, first - second, second]
    assert [round(x, 9) for x in slept] == [0.8, 0.8] + [round(x, 9) for x in per_rehearsed_bar * 2]
