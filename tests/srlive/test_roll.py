"""The bar-roll codec (docs/design.md, "The bar roll")."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srlive.roll import (
    memory_of,
    HIGHEST_PITCH,
    LOWEST_PITCH,
    N_PITCHES,
    STEPS,
    Note,
    fold_pitch,
    notes_to_roll,
    roll_to_notes,
    transpose_roll,
)


def test_rows_are_piano_keys_and_columns_are_sixteenths():
    roll = notes_to_roll([Note(21, 0, 1, 127), Note(108, 15, 16, 127)])
    assert roll.shape == (N_PITCHES, STEPS) and roll.dtype == np.float32
    assert roll[0, 0] == 1.0 and roll[87, 15] == 1.0
    assert roll.sum() == 2.0


def test_cell_holds_velocity_over_every_sounding_step():
    roll = notes_to_roll([Note(60, 4, 8, 64)])
    row = 60 - LOWEST_PITCH
    np.testing.assert_allclose(roll[row, 4:8], 64 / 127)
    assert roll[row, :4].sum() == 0 and roll[row, 8:].sum() == 0


def test_overlapping_notes_of_one_pitch_louder_wins():
    roll = notes_to_roll([Note(60, 0, 8, 40), Note(60, 4, 12, 100)])
    row = 60 - LOWEST_PITCH
    np.testing.assert_allclose(roll[row, 0:4], 40 / 127)
    np.testing.assert_allclose(roll[row, 4:12], 100 / 127)


def test_out_of_range_notes_fold_by_octaves():
    assert fold_pitch(20) == 32
    assert fold_pitch(0) == 24
    assert fold_pitch(109) == 97
    assert fold_pitch(127) == 103
    for p in range(128):
        f = fold_pitch(p)
        assert LOWEST_PITCH <= f <= HIGHEST_PITCH and (f - p) % 12 == 0
    roll = notes_to_roll([Note(12, 0, 2, 127)])
    assert roll[fold_pitch(12) - LOWEST_PITCH, 0] == 1.0


def test_notes_end_by_the_end_of_the_bar_and_sound_at_least_one_step():
    roll = notes_to_roll([Note(60, 14, 40, 90), Note(62, 3, 3, 90)])
    np.testing.assert_allclose(roll[60 - LOWEST_PITCH, 14:], 90 / 127)
    notes = roll_to_notes(roll)
    assert Note(60, 14, 16, 90) in notes and Note(62, 3, 4, 90) in notes


def test_threshold_and_first_cell_velocity():
    roll = np.zeros((N_PITCHES, STEPS), np.float32)
    roll[39, 2:6] = [0.8, 0.3, 0.9, 0.9]
    assert roll_to_notes(roll, threshold=0.5) == [Note(60, 2, 3, 102), Note(60, 4, 6, 114)]
    assert roll_to_notes(roll, threshold=0.25) == [Note(60, 2, 6, 102)]
    assert roll_to_notes(roll, threshold=0.95) == []


def test_transpose_folds_rows_pushed_off_the_keyboard():
    roll = notes_to_roll([Note(107, 0, 1, 127), Note(60, 0, 1, 127)])
    up = transpose_roll(roll, 3)  # 107 + 3 = 110 -> 98
    assert up[98 - LOWEST_PITCH, 0] == 1.0 and up[63 - LOWEST_PITCH, 0] == 1.0
    assert up.sum() == 2.0
    np.testing.assert_array_equal(transpose_roll(roll, 0), roll)


@st.composite
def constant_run_rolls(draw):
    """Rolls made of non-touching constant-velocity runs: exactly what roll_to_notes can express."""
    roll = np.zeros((N_PITCHES, STEPS), np.float32)
    for row in draw(st.lists(st.integers(0, N_PITCHES - 1), max_size=12, unique=True)):
        step = 0
        while step < STEPS:
            start = draw(st.integers(step, STEPS))
            if start >= STEPS:
                break
            end = draw(st.integers(start + 1, STEPS))
            roll[row, start:end] = draw(st.integers(64, 127)) / 127.0
            step = end + 1
    return roll


@settings(max_examples=200, deadline=None)
@given(constant_run_rolls())
def test_roll_to_notes_to_roll_is_the_identity(roll):
    np.testing.assert_array_equal(notes_to_roll(roll_to_notes(roll)), roll)


def test_as_heard_is_the_bar_read_as_notes_and_painted_back():
    from srlive.roll import as_heard

    rng = np.random.default_rng(3)
    bars = (rng.random((40, 88, 16)) * (rng.random((40, 88, 16)) > 0.8)).astype(np.float32)
    heard = as_heard(bars, 0.4)
    assert heard.shape == bars.shape and heard.dtype == np.float32
    for bar, got in zip(bars, heard):
        assert np.array_equal(got, notes_to_roll(roll_to_notes(bar, 0.4)))


def test_as_heard_holds_each_note_at_its_first_cells_velocity():
    from srlive.roll import as_heard

    bar = np.zeros((88, 16), np.float32)
    bar[39, 2:6] = [0.9, 0.6, 0.3, 0.7]  # a note of 2 steps at 0.9, a rest, a note at 0.7
    got = as_heard(bar)
    assert np.allclose(got[39, 2:4], 114 / 127) and got[39, 4] == 0 and np.isclose(got[39, 5], 89 / 127)
    assert got.sum() == pytest.approx(2 * 114 / 127 + 89 / 127)


def test_memory_is_the_mean_of_the_bars_present_and_silence_when_none_is():
    a, b, c = (np.full((88, 16), v, np.float32) for v in (0.2, 0.6, 1.0))
    got = memory_of(np.stack([a, b, c]), np.array([True, True, False]))
    np.testing.assert_allclose(got, 0.4)  # the absent bar counts for nothing, not as silence
    np.testing.assert_allclose(memory_of(np.stack([a, b, c])), 0.6)
    batch = memory_of(np.stack([np.stack([a, b]), np.stack([c, c])]), np.array([[False, False], [True, False]]))
    assert batch.shape == (2, 88, 16) and batch[0].max() == 0 and np.allclose(batch[1], 1.0)


def test_a_rhythm_memory_is_where_the_bars_notes_start_on_every_row_in_any_key():
    one = notes_to_roll([(60, 0, 4, 100), (64, 4, 8, 100), (67, 8, 16, 100)])
    two = notes_to_roll([(60, 0, 16, 100), (72, 8, 10, 100)])
    got = memory_of(np.stack([one, two]), kind="rhythm")
    want = np.zeros(16, np.float32)
    want[[0, 4, 8]] = [1.0, 0.5, 1.0]
    assert got.shape == (88, 16) and all(np.array_equal(row, want) for row in got)
    moved = memory_of(np.stack([transpose_roll(one, 5), transpose_roll(two, 5)]), kind="rhythm")
    assert np.array_equal(moved, got)
    with pytest.raises(ValueError, match="rhythm"):
        memory_of(np.stack([one]), kind="tune")
