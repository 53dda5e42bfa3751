"""Cutting tunes into triple bars (12 sixteenths: 3/4, 6/8, 3/8) — srlive-prepare --meter triple.

Pure cutting logic on hand-made measures, plus a few tiny ABC tunes through build_corpus.
"""

from __future__ import annotations

import numpy as np
import pytest

from srlive.errors import UserError
from srlive.roll import LOWEST_PITCH
from srlive_training import bar_cutting, prepare
from srlive_training.abc import TuneEvents
from srlive_training.bar_cutting import CUTS
from srlive_training.tune_parsing import SourceFile

TRIPLE = CUTS["triple"]


def row(pitch: int) -> int:
    return pitch - LOWEST_PITCH


def events(measures, meters, bar_lengths, notes=()) -> TuneEvents:
    return TuneEvents(notes=list(notes), measures=list(measures), meters=list(meters), bar_lengths=list(bar_lengths))


# ------------------------------------------------------------------ pure cutting


def test_triple_cut_is_twelve_sixteenths_and_four_four_is_unchanged():
    assert TRIPLE.steps == 12 and TRIPLE.bar_quarters == 3.0
    assert CUTS["4/4"].steps == 16 and bar_cutting.BAR_QUARTERS == 4.0


def test_triple_windows_follow_three_quarter_bar_lines_after_a_pickup():
    # one-beat pickup, then three 3/4 measures
    ms = [(0, 1, 3), (1, 3, 3), (4, 3, 3), (7, 3, 3)]
    assert bar_cutting.window_starts(ms, 10, TRIPLE) == [1, 4, 7]
    # the same measures make no 4/4 bar
    assert bar_cutting.window_starts(ms, 10) == []


def test_three_eight_measures_pair_into_one_bar():
    ms = [(k * 1.5, 1.5, 1.5) for k in range(4)]
    assert bar_cutting.window_starts(ms, 6, TRIPLE) == [0, 3]


def test_triple_windows_re_anchor_after_a_short_first_ending():
    # two full bars, a two-beat first ending, a full second ending, one more bar: the window from
    # the short measure ends a beat into the next, so the bars go on at the following bar line
    ms = [(0, 3, 3), (3, 3, 3), (6, 2, 3), (8, 3, 3), (11, 3, 3)]
    assert bar_cutting.window_starts(ms, 14, TRIPLE) == [0, 3, 6, 11]


def test_meters_kept_and_dropped_by_the_triple_cut():
    full = lambda length: [(k * length, length, length) for k in range(4)]  # noqa: E731
    assert bar_cutting.meter_problem(events(full(3.0), ["3/4"], [3.0]), TRIPLE) is None
    assert bar_cutting.meter_problem(events(full(3.0), ["6/8"], [3.0]), TRIPLE) is None
    assert bar_cutting.meter_problem(events(full(1.5), ["3/8"], [1.5]), TRIPLE) is None
    assert bar_cutting.meter_problem(events(full(4.5), ["9/8"], [4.5]), TRIPLE) == "meter 9/8"
    assert bar_cutting.meter_problem(events(full(4.0), ["4/4"], [4.0]), TRIPLE) == "meter 4/4"
    assert bar_cutting.meter_problem(events(full(2.0), ["2/4"], [2.0]), TRIPLE) == "meter 2/4"
    assert bar_cutting.meter_problem(events(full(6.0), ["6/4"], [6.0]), TRIPLE) == "meter 6/4"
    # and the 4/4 cut drops what the triple cut keeps
    assert bar_cutting.meter_problem(events(full(3.0), ["3/4"], [3.0])) == "meter 3/4"


def test_cut_bars_clips_notes_at_the_twelfth_step_and_carries_them_over():
    # a note from quarter 2 to quarter 4 crosses the bar line at quarter 3
    notes = [(60, 0.0, 1.0, 90), (64, 2.0, 4.0, 80), (67, 4.5, 6.0, 100)]
    bars = bar_cutting.cut_bars(notes, [0.0, 3.0], steps=12)
    assert bars.shape == (2, 88, 12)
    expected = np.zeros((2, 88, 12), np.uint8)
    expected[0, row(60), 0:4] = 90
    expected[0, row(64), 8:12] = 80
    expected[1, row(64), 0:4] = 80
    expected[1, row(67), 6:12] = 100
    np.testing.assert_array_equal(bars, expected)


def test_tune_bars_of_a_waltz():
    ms = [(0, 1, 3)] + [(1 + 3 * k, 3, 3) for k in range(3)]
    notes = [(59, 0, 1, 90)] + [(60 + k, 1 + 3 * k, 4 + 3 * k, 90) for k in range(3)]
    bars, reason = bar_cutting.tune_bars(events(ms, ["3/4"], [3.0], notes), TRIPLE)
    assert reason is None and bars.shape == (3, 88, 12)
    for k in range(3):  # each bar holds its dotted half from step 0 to the bar's end; the pickup is gone
        assert (bars[k, row(60 + k)] == 90).all() and bars[k].sum() == 90 * 12


# ------------------------------------------------------------------ through srlive-prepare


def build_triple(tmp_path, text: str):
    path = tmp_path / "t.abc"
    path.write_text(text)
    settings = prepare.settings_dict(["test"], None, 0, TRIPLE)
    return prepare.build_corpus([SourceFile("test", "t.abc", path, "abc")], settings, key="t", workers=1)


def test_six_eight_jig_gives_twelve_step_bars_and_four_four_reel_is_dropped(tmp_path):
    pytest.importorskip("music21")
    text = ("X:1\nT:jig\nM:6/8\nL:1/8\nK:G\nD|GAB c2d|e3 d3|]\n\n"
            "X:2\nT:reel\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|e8|]\n")
    corpus = build_triple(tmp_path, text)
    assert corpus.steps == 12 and corpus.n_tunes == 1 and len(corpus.bars) == 2
    bar0 = corpus.bars[0]
    assert (bar0[row(67), 0:2] == 90).all() and (bar0[row(72), 6:10] == 90).all()
    assert (corpus.bars[1, row(76), 0:6] == 90).all() and (corpus.bars[1, row(74), 6:12] == 90).all()
    assert corpus.summary["per_collection"]["test"]["dropped"] == {"meter 4/4": 1}
    assert corpus.summary["settings"]["steps"] == 12 and corpus.summary["settings"]["meter"] == "triple"


def test_meter_names_and_cache_keys():
    assert prepare.meter_cut("triple") is TRIPLE and prepare.meter_cut("6/8") is TRIPLE
    assert prepare.meter_cut("3/4") is TRIPLE and prepare.meter_cut("4/4") is CUTS["4/4"]
    with pytest.raises(UserError):
        prepare.meter_cut("5/4")
    four = prepare.settings_dict(["x"], None, 0)
    assert "meter" not in four  # the 4/4 cache key is the one it always was
    assert prepare.settings_dict(["x"], None, 0, TRIPLE) != four


def test_cli_refuses_an_unknown_meter(capsys):
    assert prepare.main(["--meter", "7/8", "--sources", "bach", "--max-tunes", "1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--meter" in err[0]
