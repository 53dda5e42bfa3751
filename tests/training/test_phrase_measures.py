"""The rhythm, phrase-return and solo measures of training/metrics.py on hand-made bars."""

import math

import numpy as np
import pytest

from srlive.roll import notes_to_roll
from srlive_training import metrics


def notes(*triples):
    """Note arrays from (pitch, start, end)."""
    return np.array([(p, s, e, 100) for p, s, e in triples], np.int64).reshape(-1, 4)


def roll(*triples):
    return notes_to_roll([(p, s, e, 100) for p, s, e in triples])


def test_odd_onset_share_counts_onsets_on_odd_sixteenths():
    eighths = notes((60, 0, 2), (62, 2, 4), (64, 4, 6))
    assert metrics.odd_onset_share([eighths]) == 0.0
    swung = notes((60, 0, 3), (62, 3, 4), (64, 4, 5), (65, 5, 8))
    assert metrics.odd_onset_share([swung]) == 0.5
    assert metrics.odd_onset_share([eighths, swung]) == pytest.approx(2 / 7)
    assert math.isnan(metrics.odd_onset_share([notes()])) and math.isnan(metrics.odd_onset_share([]))


def test_even_only_is_true_when_no_bar_starts_a_note_on_an_odd_step():
    assert metrics.even_only([notes((60, 0, 4)), notes(), notes((60, 14, 16))])
    assert not metrics.even_only([notes((60, 0, 4)), notes((60, 15, 16))])
    assert metrics.even_only([])


def test_shared_onsets_needs_the_same_step_and_pitch():
    bar = notes((60, 0, 2), (62, 2, 4), (64, 4, 8), (65, 8, 16))
    assert metrics.shared_onsets(bar, bar) == 1.0
    # the same pitches a step later, or the same steps a tone higher: nothing shared
    assert metrics.shared_onsets(bar, bar + [0, 1, 1, 0]) == 0.0
    assert metrics.shared_onsets(bar, bar + [2, 0, 0, 0]) == 0.0
    # two of four onsets restated (a note's length does not matter)
    other = notes((60, 0, 1), (64, 4, 16), (67, 8, 16))
    assert metrics.shared_onsets(bar, other) == 0.5
    assert metrics.shared_onsets(other, bar) == pytest.approx(2 / 3)
    assert metrics.shared_onsets(bar, notes()) == 0.0 and math.isnan(metrics.shared_onsets(notes(), bar))


def test_longest_identical_run_counts_consecutive_equal_bars():
    a, b = roll((60, 0, 4)), roll((62, 0, 4))
    assert metrics.longest_identical_run(np.stack([a, b, a, b])) == 1
    assert metrics.longest_identical_run(np.stack([a, b, b, b, a, a])) == 3
    silence = np.zeros_like(a)
    assert metrics.longest_identical_run(np.stack([silence] * 5)) == 5
    assert metrics.longest_identical_run(np.zeros((0, 88, 16))) == 0
    # a cell under the threshold does not make bars differ
    c = a.copy()
    c[0, 10] = 0.1
    assert metrics.longest_identical_run(np.stack([a, c]), threshold=0.5) == 2


def test_count_range_and_outside_share():
    counts = np.arange(101)
    assert metrics.count_range(counts) == (10.0, 90.0)
    assert metrics.outside_share(counts, 10, 90) == pytest.approx(20 / 101)
    assert metrics.outside_share([3, 4, 5], 3, 5) == 0.0
    assert math.isnan(metrics.outside_share([], 0, 1)) and all(map(math.isnan, metrics.count_range([])))


def test_phrase_means_averages_whole_phrases_of_eight_bars():
    counts = [4] * 8 + [8] * 8 + [100] * 3
    assert metrics.phrase_means(counts).tolist() == [4.0, 8.0]
    assert metrics.phrase_means([1, 2, 3, 4], width=2).tolist() == [1.5, 3.5]
    assert metrics.phrase_means([1, 2]).size == 0
