"""The listening check of every validation (training/listening.py)."""

import math

import numpy as np
import pytest
import torch

from run_helpers import corpus, one_thread  # noqa: F401 - one_thread is an autouse fixture
from srlive_training.config import get_config
from srlive_training.listening import listening_check, listening_score, mean_note_length


def test_listening_check_scores_a_copying_model_and_a_deaf_one():
    """Known answers: a 'model' that copies its input bar plays the context's key (key fit 1 on
    this one-scale-per-tune corpus) and so answers another tune out of key."""
    c = corpus()

    class Copy(torch.nn.Module):
        config = get_config("live")

        def step(self, bar, noise, temperature):
            return bar

        def eval(self):
            return self

    v = listening_check(Copy(), c, n=30, seed=0)
    assert v["key_fit"] == pytest.approx(1.0)
    assert v["context"] > 0.2
    assert v["empty"] == v["real_empty"] == 0.0
    assert v["density"] == pytest.approx(v["real_density"], rel=0.3)
    assert listening_score(v) > listening_score({**v, "context": 0.0})
    # a copy has the music's note lengths and pitches; scattered one-step notes score lower
    assert v["note_len"] == pytest.approx(v["real_note_len"], rel=0.3)
    assert v["pitches"] == pytest.approx(v["real_pitches"], rel=0.3)
    assert listening_score(v) > listening_score({**v, "note_len": 1.0, "pitches": 3 * v["real_pitches"]})


def test_mean_note_length_counts_runs_per_row():
    bars = np.zeros((2, 88, 16), np.float32)
    bars[0, 40, 0:4] = 0.7  # one note of 4
    bars[0, 40, 8:10] = 0.7  # one of 2
    bars[1, 50, 15] = 0.7  # one of 1
    bars[1, 51, 3:6] = 0.2  # under the threshold: not a note
    assert mean_note_length(bars, 0.5) == pytest.approx(7 / 3)
    assert math.isnan(mean_note_length(np.zeros((1, 88, 16)), 0.5))
