"""benchmarks.performer's tempo curves and benchmarks.follow's judging (pure parts, no ports)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.analysis import Heard, HeardNote
from benchmarks.follow import judge
from benchmarks.performer import PHRASE, perform, tempo_curve


def test_the_curves_are_the_issues():
    drift, _ = tempo_curve("drift", 64, 120)
    assert drift[0] == 120 and drift[32 * 4] == pytest.approx(129.6) and drift[-1] == pytest.approx(120, rel=0.002)
    rit, _ = tempo_curve("ritardando", 16, 120)
    bar = np.arange(16 * 4) / 4
    last = int((PHRASE - 0.25) * 4)  # the phrase's last quarter note: nearly 15 % slower
    assert (rit[bar < PHRASE - 2] == 120).all() and rit[last] == pytest.approx(120 * (1 - 0.15 * 0.875))
    assert rit[PHRASE * 4] == 120  # a tempo
    for seed in range(4):
        human, jitter = tempo_curve("human", 32, 120, seed=seed)
        beats = 60 / human
        change = np.mean(np.abs(np.diff(beats)) / beats[:-1])
        assert 0.025 < change < 0.06 and jitter == 0.015


def test_the_pause_is_two_silent_bars_in_the_middle():
    p = perform("pause", 16)
    assert not ((p.positions >= 8 * 16) & (p.positions < 10 * 16)).any()
    assert (p.positions >= 10 * 16).any() and (p.positions + p.lengths <= 8 * 16)[p.positions < 8 * 16].all()


def test_each_heard_note_is_judged_at_the_step_the_take_gives_it():
    p = perform("steady", 4, 120)  # a step is 125 ms
    heard = Heard(notes=[HeardNote(10.0 + 2.0 + 0.003, 10.1, 0, 60, 90), HeardNote(10.0 + 2.5 - 0.002, 10.6, 0, 62, 90),
                         HeardNote(10.0 + 2.25, 10.3, 9, 40, 90)])  # channel 10: not srlive's
    err, where = judge(heard, [(16.0, 60), (20.0, 62)], p, origin=10.0)
    assert sorted(zip(where, np.round(err, 6))) == [(16.0, 0.003), (20.0, -0.002)]
