"""BarHistory: the bars heard and played, in one place; the engine writes it once a bar and the
answerer, the selection's context and the key follower read that same history."""

from __future__ import annotations

import numpy as np

from srlive import roll
from srlive.history import BARS_KEPT, BarHistory
from srlive.live.engine import Engine
from srlive.live.quantise import NoteMsg
from srlive.model.scales import Scale
from srlive.settings import Settings
from srlive_fakes import FakeClock, FakeOutput, FakeRuntime


def bar_of(pitch: int) -> np.ndarray:
    return roll.notes_to_roll([(pitch, 0, 4, 90)])


def test_the_bar_k_back_up_to_nine_and_none_for_a_bar_that_did_not_happen():
    # nine: a model hears up to 8 bars back from the bar it answers, itself the newest
    h = BarHistory()
    assert h.back(1) is None and len(h) == 0
    for k in range(11):
        h.add(heard=bar_of(40 + k) if k % 2 == 0 else None, played=bar_of(70 + k))
    assert len(h) == BARS_KEPT == 9
    assert h.back(1).heard[50 - roll.LOWEST_PITCH].any()  # the newest: bar 10, heard
    assert h.back(2).heard is None and h.back(2).played[79 - roll.LOWEST_PITCH].any()
    assert h.sounded(2) is h.back(2).played  # silent: what sounded was srlive's
    assert h.back(9).played[72 - roll.LOWEST_PITCH].any() and h.back(10) is None and h.back(0) is None


def test_the_performers_bars_are_kept_across_a_long_silence():
    h = BarHistory()
    h.add(heard=bar_of(60))
    h.add(heard=bar_of(62))
    for _ in range(20):
        h.add(heard=None, played=None)
    got = h.heard_bars(4)
    assert len(got) == 2 and got[1][62 - roll.LOWEST_PITCH].any()  # oldest first
    assert h.played_bars(4) == [] and h.back(1) == (None, None)


def test_the_version_bumps_once_a_bar():
    h = BarHistory()
    h.add(bar_of(60))
    h.add(None)
    assert h.version == 2


def make_engine(**kw):
    clock = FakeClock(100.0)
    eng = Engine(FakeRuntime(clock=clock), Settings(**kw), now=clock.now, sleep=clock.sleep, output=FakeOutput(),
                 log=lambda m: None)
    eng.start_clock(100.0)
    return eng


def test_the_answerer_selection_and_key_follower_read_the_engines_one_history():
    eng = make_engine()
    assert eng.answerer.history is eng.history
    assert eng.answerer.context.history is eng.history and eng.keys.history is eng.history


def test_each_bar_is_written_once_heard_and_played_and_the_answer_is_the_one_remembered():
    eng = make_engine(scale=Scale(0, "major"), transpose=2)
    step = eng.step_len(0)
    heard = [NoteMsg(100.0 + k * 4 * step, p, 90) for k, p in enumerate((60, 62, 64, 66))]  # F# is off C major
    heard += [NoteMsg(m.time + step, m.pitch, 0) for m in heard]
    plan = eng.close_window(0, heard)
    assert len(eng.history) == 1 and eng.history.back(1).played is None  # srlive played nothing in bar 0
    assert eng.history.back(1).heard[66 - roll.LOWEST_PITCH].any()
    answer = eng.last_own  # bar 1's answer as it sounds: key-locked once, the one roll remembered
    assert plan.bar == 1 and plan.answer is not None
    eng.close_window(1, [])
    assert np.shares_memory(eng.history.back(1).played, answer)  # the very roll, not a recomputed one
    assert eng.history.back(1).heard is None and len(eng.history) == 2
    pitches = {(n.pitch + 2) % 12 for n in roll.roll_to_notes(answer)}  # as it sounds, 2 up
    assert pitches and pitches <= set(Scale(0, "major").pitch_classes)  # locked to C major once
    shown = {n.pitch for n in roll.roll_to_notes(plan.answer, 0.01)}  # the view's: as it sounds, transposed
    assert shown == {n.pitch + 2 for n in roll.roll_to_notes(answer)}
