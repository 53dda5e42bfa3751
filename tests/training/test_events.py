"""Melody events <-> bar rolls (srlive_training.events)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from srlive import roll
from srlive.model.synthetic_bars import music_like_bars
from srlive_training.events import (HOLD, REST, events_of, is_melody, last_pitch_before, melody_of, melody_of_events,
                                    roll_of_events)
from tiny_corpus import tiny_corpus


def test_a_melody_becomes_new_notes_holds_and_rests():
    bar = roll.notes_to_roll([(60, 0, 4, 90), (62, 4, 5, 90), (64, 8, 16, 90)])
    ev = events_of(bar)
    row = 60 - roll.LOWEST_PITCH
    assert list(ev) == [row, HOLD, HOLD, HOLD, row + 2, REST, REST, REST, row + 4] + [HOLD] * 7


def test_the_melody_is_the_loudest_then_highest_sounding_pitch():
    # a tune (velocity 90) under a chord symbol's tones (70) above it, then two voices at one velocity
    bar = roll.notes_to_roll([(60, 0, 8, 90), (67, 0, 8, 70), (72, 0, 8, 70), (55, 8, 16, 90), (59, 8, 16, 90)])
    mel = melody_of(bar)
    assert list(mel[:8]) == [60 - roll.LOWEST_PITCH] * 8
    assert list(mel[8:]) == [59 - roll.LOWEST_PITCH] * 8


def test_a_hold_with_nothing_sounding_is_a_rest():
    ev = np.array([HOLD, 30, HOLD, REST, HOLD] + [REST] * 11)
    assert list(melody_of_events(ev)[:5]) == [-1, 30, 30, -1, -1]


@given(st.lists(st.integers(-1, 87), min_size=16, max_size=16))
def test_every_melody_roll_survives_events_and_back(melody):
    bar = roll_of_events(np_events := np.array(_events(melody)))
    assert is_melody(bar)
    assert np.array_equal(events_of(bar), np_events)
    assert np.array_equal(roll_of_events(events_of(bar)), bar)


def _events(melody):
    out, before = [], -1
    for p in melody:
        out.append(REST if p < 0 else (HOLD if p == before else p))
        before = p
    return out


def test_every_melody_of_the_corpus_survives_the_round_trip():
    corpus = tiny_corpus(n_tunes=12, bars=8)
    for steps, bars in ((16, corpus.rolls(np.arange(len(corpus.bars)))),
                        (12, tiny_corpus(n_tunes=6, bars=6, steps=12).rolls(np.arange(36))),
                        (16, music_like_bars(64, np.random.default_rng(0)))):
        melodies = bars[is_melody(bars)]
        assert len(melodies) or steps == 16
        back = roll_of_events(events_of(melodies))
        assert np.array_equal(back > 0, melodies > 0)


def test_the_last_pitch_before_each_step():
    ev = np.array([REST, 10, HOLD, 12, REST, HOLD, 14] + [REST] * 9)
    assert list(last_pitch_before(ev)[:8]) == [-1, -1, 10, 10, 12, 12, 12, 14]
