"""Quantise (capture window → roll) and render (roll → timed events), and their round trip."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from srlive import roll
from srlive.live.quantise import NoteMsg, Quantiser, quantise_bar
from srlive.live.render import OFF, ON, SWEEP, events_to_notes, render_bar
from srlive.options import parse_velocity

STEP = 0.125  # 120 BPM
T0 = 100.0


def events_to_msgs(events):
    return [NoteMsg(e.time, e.data1, e.data2 if e.kind == ON else 0, e.channel) for e in events if e.kind in (ON, OFF)]


@st.composite
def constant_run_rolls(draw):
    """Rolls whose runs (maximal on-cell stretches of one pitch) each hold one value."""
    bar = roll.empty_roll()
    for _ in range(draw(st.integers(0, 12))):
        row = draw(st.integers(0, roll.N_PITCHES - 1))
        start = draw(st.integers(0, roll.STEPS - 1))
        end = draw(st.integers(start + 1, roll.STEPS))
        if bar[row, max(start - 1, 0):min(end + 1, roll.STEPS)].any():
            continue  # keep runs apart so each stays constant-valued
        bar[row, start:end] = draw(st.integers(1, 127)) / 127.0
    return bar


@settings(max_examples=150, deadline=None)
@given(constant_run_rolls())
def test_roll_notes_events_capture_roll_is_identity(bar):
    events = render_bar(bar, T0, STEP, threshold=1e-6)
    assert events_to_notes(events, T0, STEP) == roll.roll_to_notes(bar, 1e-6)
    back = quantise_bar(events_to_msgs(events), T0, STEP)
    np.testing.assert_array_equal(back, bar)


@settings(max_examples=60, deadline=None)
@given(constant_run_rolls(), constant_run_rolls())
def test_two_bars_in_a_row_round_trip_through_one_quantiser(a, b):
    """Bar t's note-offs a hair before the bar line never leak into bar t+1."""
    ev = render_bar(a, T0, STEP, threshold=1e-6) + render_bar(b, T0 + 16 * STEP, STEP, threshold=1e-6)
    msgs = events_to_msgs(ev)
    q = Quantiser()
    lo1 = T0 + 15.5 * STEP
    got_a = q.close_bar([m for m in msgs if m.time < lo1], T0, STEP).roll
    got_b = q.close_bar([m for m in msgs if m.time >= lo1], T0 + 16 * STEP, STEP).roll
    np.testing.assert_array_equal(got_a, a)
    np.testing.assert_array_equal(got_b, b)


def test_note_half_a_step_before_the_bar_line_is_next_bars_step_0():
    q = Quantiser()
    on = NoteMsg(T0 + 16 * STEP - STEP / 2, 60, 100)  # exactly where bar 1's window opens
    off = NoteMsg(T0 + 16 * STEP + 2 * STEP, 60, 0)
    first = q.close_bar([], T0, STEP)  # the window of bar 0 has closed before the note came
    assert first.silent
    second = q.close_bar([on, off], T0 + 16 * STEP, STEP)
    assert second.notes == [roll.Note(60, 0, 2, 100)]
    # a hair earlier it belongs to bar 0's window, at its last step
    q = Quantiser()
    early = NoteMsg(T0 + 15.5 * STEP - 1e-6, 62, 90)
    bar0 = q.close_bar([early], T0, STEP)
    assert bar0.notes == [roll.Note(62, 15, 16, 90)]


def test_window_edges_exclude_messages_outside():
    msgs = [NoteMsg(T0 - STEP / 2 - 1e-6, 60, 100), NoteMsg(T0 + 15.5 * STEP, 61, 100)]
    assert not quantise_bar(msgs, T0, STEP).any()


def test_onsets_round_to_nearest_step():
    msgs = [NoteMsg(T0 + 3 * STEP + 0.4 * STEP, 60, 64), NoteMsg(T0 + 5 * STEP, 60, 0),
            NoteMsg(T0 + 7 * STEP - 0.4 * STEP, 64, 64), NoteMsg(T0 + 9.6 * STEP, 64, 0)]
    notes = Quantiser().close_bar(msgs, T0, STEP).notes
    assert notes == [roll.Note(60, 3, 5, 64), roll.Note(64, 7, 10, 64)]


def test_out_of_range_notes_are_folded():
    msgs = [NoteMsg(T0, 12, 100), NoteMsg(T0 + STEP, 12, 0), NoteMsg(T0, 120, 100), NoteMsg(T0 + STEP, 120, 0)]
    r = quantise_bar(msgs, T0, STEP)
    assert r[roll.fold_pitch(12) - roll.LOWEST_PITCH, 0] > 0  # 12 -> 24
    assert r[roll.fold_pitch(120) - roll.LOWEST_PITCH, 0] > 0  # 120 -> 108
    assert roll.fold_pitch(12) == 24 and roll.fold_pitch(120) == 108
    assert np.count_nonzero(r) == 2


def test_overlapping_same_pitch_louder_wins():
    msgs = [NoteMsg(T0, 60, 40), NoteMsg(T0 + 2 * STEP, 60, 120), NoteMsg(T0 + 6 * STEP, 60, 0)]
    r = quantise_bar(msgs, T0, STEP)[60 - roll.LOWEST_PITCH]
    np.testing.assert_allclose(r[:2], 40 / 127)
    np.testing.assert_allclose(r[2:6], 120 / 127)
    assert not r[6:].any()


def test_velocity_zero_note_on_is_a_note_off():
    msgs = [NoteMsg(T0, 60, 100), NoteMsg(T0 + 4 * STEP, 60, 0)]  # running-status style off
    assert Quantiser().close_bar(msgs, T0, STEP).notes == [roll.Note(60, 0, 4, 100)]


def test_note_without_note_off_closes_at_bar_end_and_carries_on():
    q = Quantiser(max_hold_bars=2)
    a = q.close_bar([NoteMsg(T0 + 8 * STEP, 60, 100)], T0, STEP)
    assert a.notes == [roll.Note(60, 8, 16, 100)]
    b = q.close_bar([NoteMsg(T0 + 16 * STEP + 4 * STEP, 60, 0)], T0 + 16 * STEP, STEP)
    assert b.notes == [roll.Note(60, 0, 4, 100)]
    assert b.onsets == 0 and b.mean_velocity is None
    # a note whose note-off never comes is given up after max_hold_bars
    q = Quantiser(max_hold_bars=2)
    bars = [q.close_bar([NoteMsg(T0, 60, 100)] if i == 0 else [], T0 + 16 * STEP * i, STEP) for i in range(5)]
    assert [len(b.notes) for b in bars] == [1, 1, 1, 0, 0]


def test_release_within_half_step_after_bar_line_leaves_no_stub():
    q = Quantiser()
    q.close_bar([NoteMsg(T0 + 4 * STEP, 60, 100)], T0, STEP)
    nxt = q.close_bar([NoteMsg(T0 + 16 * STEP + 0.2 * STEP, 60, 0)], T0 + 16 * STEP, STEP)
    assert nxt.silent


def test_mean_velocity_of_onsets():
    msgs = [NoteMsg(T0, 60, 40), NoteMsg(T0 + STEP, 62, 80)]
    assert Quantiser().close_bar(msgs, T0, STEP).mean_velocity == 60


def test_render_times_velocity_transpose_channel():
    bar = roll.empty_roll()
    bar[60 - roll.LOWEST_PITCH, 4:8] = 0.8
    bar[64 - roll.LOWEST_PITCH, 12:16] = 0.6
    ev = render_bar(bar, T0, STEP, threshold=0.5, velocity="model", transpose=2, channel=3)
    notes = [(e.kind, e.data1, e.data2, e.channel, round((e.time - T0) / STEP, 3)) for e in ev if e.kind != SWEEP]
    assert notes == [(ON, 62, round(0.8 * 127), 3, 4), (OFF, 62, 0, 3, 8), (ON, 66, round(0.6 * 127), 3, 12),
                     (OFF, 66, 0, 3, round(16 - 0.001 / STEP, 3))]
    assert ev[-1].kind == SWEEP and ev[-1].time < T0 + 16 * STEP
    # every note-off is before the next bar line
    assert max(e.time for e in ev) < T0 + 16 * STEP
    fixed = [e.data2 for e in render_bar(bar, T0, STEP, velocity=99) if e.kind == ON]
    assert fixed == [99, 99]
    follow = [e.data2 for e in render_bar(bar, T0, STEP, velocity="follow", follow=33.4) if e.kind == ON]
    assert follow == [33, 33]
    unknown = [e.data2 for e in render_bar(bar, T0, STEP, velocity="follow", follow=None) if e.kind == ON]
    assert unknown == [round(0.8 * 127), round(0.6 * 127)]
    assert [e for e in render_bar(bar, T0, STEP, threshold=0.7) if e.kind == ON][0].data1 == 60


def test_parse_velocity():
    assert parse_velocity("model") == "model" and parse_velocity("FOLLOW") == "follow"
    assert parse_velocity("64") == 64 and parse_velocity(1) == 1
    for bad in ("0", "128", "loud", "6.5", None):
        try:
            parse_velocity(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
