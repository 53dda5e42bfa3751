"""One answer path: the live engine and the evaluation's runner, given the same bars, seed and
selection, play the same answers, bar after bar (what the evaluation table measures is what srlive
plays). The shipped model, four candidates a bar."""

import numpy as np
import pytest

from srlive.live.engine import Engine
from srlive.live.quantise import NoteMsg
from srlive.model.runtime import load_runtime
from srlive.roll import as_heard, roll_to_notes
from srlive.settings import Settings
from srlive_fakes import FakeClock, FakeOutput

pytest.importorskip("torch")  # srlive_training's runner module imports nothing of torch, but lives with it
from srlive_training.runner import OnnxRunner, continue_bars  # noqa: E402

BARS = 5


def performer_bar(t0: float, step: float) -> list[NoteMsg]:
    melody = [(62, 0, 4), (66, 4, 8), (69, 8, 12), (74, 12, 16)]
    msgs = []
    for pitch, start, end in melody:
        msgs += [NoteMsg(t0 + start * step, pitch, 90), NoteMsg(t0 + (end - 1.3) * step, pitch, 0)]
    return sorted(msgs)


@pytest.mark.parametrize("candidates", [1, 4])
def test_the_engine_and_the_runner_give_identical_answers(candidates):
    runtime = load_runtime(None, "cpu")
    clock = FakeClock(50.0)
    settings = Settings(tempo=120, seed=11, temperature=1.35, candidates=candidates)
    eng = Engine(runtime, settings, now=clock.now, sleep=clock.sleep, output=FakeOutput(), log=lambda m: None)
    eng.start_clock(50.0)
    step = eng.clock.step
    played = []
    for bar in range(BARS):
        clock.t = eng.clock.time_at(bar, 15.5)
        msgs = performer_bar(eng.clock.time_at(bar), step) if bar == 0 else []  # one bar, then srlive goes on alone
        eng.close_window(bar, msgs)
        if bar == 0:
            heard = eng.heard
        played.append(eng.last_own)
    assert sum(len(roll_to_notes(p)) for p in played) > 0

    runner = OnnxRunner(runtime, runtime.path)
    runner.candidates = candidates
    answers = continue_bars(runner, heard[None], BARS, np.random.default_rng(11), 1.35)
    for bar in range(BARS):
        assert np.array_equal(as_heard(answers[0, bar]), played[bar]), f"bar {bar + 1}"
