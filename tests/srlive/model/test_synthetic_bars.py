"""The synthetic music-like bars that the bench times and the export parity check feeds."""

import numpy as np

from srlive import roll
from srlive.model.synthetic_bars import music_like_bars


def test_music_like_bars_look_like_music():
    bars = music_like_bars(50, np.random.default_rng(0))
    assert bars.shape == (50, 88, 16) and bars.dtype == np.float32
    notes = [roll.roll_to_notes(b, threshold=1e-3) for b in bars]
    counts = np.array([len(n) for n in notes])
    assert counts.min() >= 2 and counts.max() <= 40  # sparse, never empty
    assert len({tuple(map(tuple, b.nonzero())) for b in bars}) == 50  # all different


def test_the_same_seed_gives_the_same_bars():
    a = music_like_bars(4, np.random.default_rng(7))
    assert np.array_equal(a, music_like_bars(4, np.random.default_rng(7)))
