"""Which bars each mode answers, and from what."""

import numpy as np

from srlive import roll
from srlive.live.modes import make_mode
from srlive.live.quantise import CapturedBar
from srlive_fakes import bar_roll


def cap(r):
    return CapturedBar(r, roll.roll_to_notes(r, 0.01), 0, None)


SILENT = cap(roll.empty_roll())


def playing(pitch):
    return cap(bar_roll((pitch, 0, 4)))


def run(mode_name, performer_bars):
    """Feed bars; return what each answer (bar t+1) was made from: 'p<pitch>', 'own', 'empty' or None."""
    mode = make_mode(mode_name)
    own = None
    made = []
    first = mode.start()
    made.append(None if first is None else "empty")
    if first is not None:
        own = first
    for t, perf in enumerate(performer_bars):
        src = mode.decide(t, perf, own)
        if src is None:
            made.append(None)
            continue
        if src is perf.roll:
            made.append(f"p{roll.roll_to_notes(src, 0.01)[0].pitch}")
        elif own is not None and src is own:
            made.append("own")
        elif not src.any():
            made.append("empty")
        else:
            made.append("call")
        own = np.full((88, 16), float(len(made)) / 100, np.float32)  # srlive's bar t+1
    return made


def test_accompany_answers_every_bar_and_continues_from_itself_when_silent():
    bars = [playing(60), playing(62), SILENT, SILENT, playing(64)]
    assert run("accompany", bars) == [None, "p60", "p62", "own", "own", "p64"]


def test_accompany_stays_silent_until_there_is_something_to_answer():
    assert run("accompany", [SILENT, SILENT, playing(60)]) == [None, None, None, "p60"]


def test_call_response_answers_after_a_silent_bar_with_as_many_bars_as_the_call():
    bars = [playing(60), playing(62), playing(64), SILENT, SILENT, SILENT, SILENT, playing(65), SILENT, SILENT]
    made = run("call-response", bars)
    # bars 0-2 call, bar 3 silent -> bars 4,5,6 answer (first from the call's last bar, then chained)
    assert made == [None, None, None, None, "call", "own", "own", None, None, "call", None]


def test_call_response_collects_a_new_call_during_an_answer():
    bars = [playing(60), SILENT, playing(62), SILENT, SILENT]
    made = run("call-response", bars)
    # call [60] answered in bar 2 while the performer plays 62 -> answered after bar 3 is silent
    assert made == [None, None, "call", None, "call", None]


def test_solo_plays_from_the_start_and_the_performer_steers_it():
    made = run("solo", [SILENT, playing(67), SILENT])
    assert made == ["empty", "own", "p67", "own"]


def test_solo_seed_is_its_first_source():
    seed = bar_roll((50, 0, 8))
    mode = make_mode("solo", seed)
    assert mode.start() is seed


def test_unknown_mode_names_the_choices():
    try:
        make_mode("jazz")
    except ValueError as e:
        assert "accompany, call-response, solo" in str(e)
    else:
        raise AssertionError
