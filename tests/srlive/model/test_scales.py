"""Key lock: scale names, lock_roll (no answer note outside the scale, moved at most a semitone or
two, in-scale rolls untouched), KeyFollower (finds a performer's key, holds it through an odd bar,
locks nothing before enough notes)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srlive import roll
from srlive.errors import BadValue
from srlive.model.keylock import MAX_MOVE, KeyFollower, active_scale, lock_roll, row_targets
from srlive.model.scales import FOLLOW, INTERVALS, SCALE_NAMES, Scale, parse_scale

ALL_SCALES = [Scale(root, name) for name in SCALE_NAMES for root in range(12)]


def random_roll(rng, density=0.3, shape=(roll.N_PITCHES, roll.STEPS)):
    """Model-like values: mostly low, some cells above any threshold."""
    values = rng.random(shape, dtype=np.float32)
    return np.where(rng.random(shape) < density, values, values * 0.2).astype(np.float32)


def sounding_pitches(bar, threshold=roll.DEFAULT_THRESHOLD, transpose=0):
    rows, _ = np.nonzero(np.asarray(bar) >= threshold)
    return rows + roll.LOWEST_PITCH + transpose


# --- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, root, name", [
    ("D dorian", 2, "dorian"), ("d DORIAN", 2, "dorian"), ("F#", 6, "major"), ("Gb minor", 6, "minor"),
    ("f sharp mixolydian", 6, "mixolydian"), ("G-flat lydian", 6, "lydian"), ("bb", 10, "major"),
    ("b blues", 11, "blues"), ("Am", 9, "minor"), ("Bbm", 10, "minor"), ("C harmonic-minor", 0, "harmonic minor"),
    ("E natural minor", 4, "minor"), ("e aeolian", 4, "minor"), ("C ionian", 0, "major"),
    ("Ab pentatonic", 8, "major pentatonic"), ("A minor pentatonic", 9, "minor pentatonic"),
    ("C# phrygian", 1, "phrygian"), ("Db phrygian", 1, "phrygian"), ("B locrian", 11, "locrian"),
    ("Cb major", 11, "major"), ("E# major", 5, "major"), ("  d   dorian ", 2, "dorian"), ("E♭ major", 3, "major"),
])
def test_roots_and_scales_are_read_in_any_usual_spelling(text, root, name):
    assert parse_scale(text) == Scale(root, name)


def test_off_and_follow_and_converting_twice():
    assert parse_scale("off") is None and parse_scale("OFF") is None and parse_scale(None) is None
    assert parse_scale("follow") == FOLLOW and parse_scale(" Follow ") == FOLLOW
    assert parse_scale(parse_scale("D dorian")) == Scale(2, "dorian")


@pytest.mark.parametrize("bad", ["H major", "D dorain", "", "Dd", "C major scale", 5, True, ["D", "dorian"], "ablues"])
def test_a_bad_scale_is_one_line_naming_the_valid_ones(bad):
    with pytest.raises(BadValue) as err:
        parse_scale(bad)
    msg = str(err.value)
    assert "\n" not in msg and "D dorian" in msg and "follow" in msg and "off" in msg
    assert all(name in msg for name in SCALE_NAMES)
    assert parse_scale.valid in msg


def test_a_misspelt_scale_name_gets_a_suggestion():
    assert "did you mean dorian?" in str(pytest.raises(BadValue, parse_scale, "D dorain").value)


def test_every_scale_has_its_pitch_classes():
    assert Scale(2, "dorian").pitch_classes == (0, 2, 4, 5, 7, 9, 11)  # D dorian: the white keys
    assert Scale(2, "major").pitch_classes == (1, 2, 4, 6, 7, 9, 11)
    assert Scale(9, "minor").pitch_classes == (0, 2, 4, 5, 7, 9, 11)
    assert Scale(9, "blues").pitch_classes == (0, 2, 3, 4, 7, 9)
    assert str(Scale(6, "harmonic minor")) == "F# harmonic minor"
    for s in ALL_SCALES:
        assert s.root in s.pitch_classes and len(s.pitch_classes) == len(INTERVALS[s.name])


# --- lock_roll --------------------------------------------------------------------------------------
def test_no_answer_note_is_outside_the_scale_for_every_root_and_scale():
    rng = np.random.default_rng(0)
    for scale in ALL_SCALES:
        for _ in range(3):
            bar = random_roll(rng)
            locked = lock_roll(bar, scale)
            for threshold in (0.05, 0.5, 0.9):
                assert all(scale.contains(p) for p in sounding_pitches(locked, threshold)), (scale, threshold)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ALL_SCALES), st.integers(0, 2**32 - 1), st.floats(0.01, 1.0),
       st.integers(-48, 48), st.floats(0.0, 1.0))
def test_locked_rolls_sound_only_scale_tones_whatever_the_threshold_and_transpose(scale, seed, threshold,
                                                                                  transpose, density):
    bar = random_roll(np.random.default_rng(seed), density)
    locked = lock_roll(bar, scale, transpose)
    assert locked.shape == bar.shape and locked.dtype == np.float32
    assert 0.0 <= locked.min() and locked.max() <= bar.max()
    played = roll.transpose_roll(locked, transpose)  # what render does next
    assert all(scale.contains(n.pitch) for n in roll.roll_to_notes(played, threshold))
    # nothing made out of nothing: in each step as many sounding cells or fewer (merged), none new
    assert ((locked >= threshold).sum(axis=0) <= (bar >= threshold).sum(axis=0)).all()


@pytest.mark.parametrize("scale", ALL_SCALES, ids=str)
def test_an_out_of_scale_note_moves_one_semitone_or_two_at_the_keyboards_ends(scale):
    for transpose in (0, 5):
        targets = row_targets(scale, transpose)
        moves = np.abs(targets - np.arange(roll.N_PITCHES))
        assert moves[2:-2].max() <= 1 and moves.max() <= MAX_MOVE == 2
        assert all(scale.contains(t + roll.LOWEST_PITCH + transpose) for t in targets)


@pytest.mark.parametrize("scale", ALL_SCALES, ids=str)
def test_every_sounding_cell_comes_from_a_cell_at_most_that_far_away_with_the_same_value(scale):
    bar = random_roll(np.random.default_rng(scale.root * 31 + len(scale.name)))
    locked = lock_roll(bar, scale)
    for row, step in zip(*np.nonzero(locked)):
        near = bar[max(row - MAX_MOVE, 0):row + MAX_MOVE + 1, step]
        assert locked[row, step] in near


@pytest.mark.parametrize("scale", ALL_SCALES, ids=str)
def test_a_roll_in_the_scale_is_unchanged(scale):
    bar = random_roll(np.random.default_rng(7))
    pitches = np.arange(roll.N_PITCHES) + roll.LOWEST_PITCH
    bar[[not scale.contains(p) for p in pitches]] = 0.0
    assert np.array_equal(lock_roll(bar, scale), bar)


def note_roll(*cells):
    bar = roll.empty_roll()
    for pitch, step, value in cells:
        bar[pitch - roll.LOWEST_PITCH, step] = value
    return bar


@pytest.mark.parametrize("scale, pitch, lands", [
    ("C major", 66, 65),  # F#: halfway between F and G → the lower
    ("C major", 61, 60),  # C# → C
    ("C major", 70, 69),  # Bb → A
    ("A harmonic minor", 67, 68),  # G: a semitone below G#, two above F → G#
    ("A harmonic minor", 66, 65),  # F# → F
    ("C major pentatonic", 65, 64),  # F → E (a semitone), not G
    ("C major pentatonic", 71, 72),  # B → C
    ("A blues", 68, 67),  # G# → G
    ("D dorian", 61, 60),
])
def test_where_an_out_of_scale_note_lands(scale, pitch, lands):
    locked = lock_roll(note_roll((pitch, 3, 0.8)), parse_scale(scale))
    assert roll.roll_to_notes(locked) == [roll.Note(lands, 3, 4, round(0.8 * 127))]


def test_two_notes_landing_on_one_pitch_keep_the_louder():
    locked = lock_roll(note_roll((60, 0, 0.6), (61, 0, 0.9), (61, 1, 0.3), (60, 1, 0.7)), Scale(0, "major"))
    assert locked[60 - roll.LOWEST_PITCH, :2].tolist() == pytest.approx([0.9, 0.7])
    assert not locked[61 - roll.LOWEST_PITCH].any()


def test_the_keyboards_ends_move_onto_the_keyboard():
    c_sharp = Scale(1, "major")  # A0 (21) is out; G#0 is off the keyboard, A#0 a semitone up
    assert roll.roll_to_notes(lock_roll(note_roll((21, 0, 0.9)), c_sharp))[0].pitch == 22
    g_sharp = Scale(8, "minor pentatonic")  # G# B C# D# F#: A0 and A#0 are out, G#0 is off → B0
    locked = lock_roll(note_roll((21, 0, 0.9), (22, 2, 0.9)), g_sharp)
    assert [(n.pitch, n.start) for n in roll.roll_to_notes(locked)] == [(23, 0), (23, 2)]
    e_flat = Scale(3, "minor pentatonic")  # Eb Gb Ab Bb Db: C8 (108) is out, C#8 is off → Bb7
    assert roll.roll_to_notes(lock_roll(note_roll((108, 0, 0.9)), e_flat))[0].pitch == 106


def test_a_batch_of_rolls_locks_like_each_one_and_off_is_the_roll_itself():
    rng = np.random.default_rng(3)
    batch = random_roll(rng, shape=(5, roll.N_PITCHES, roll.STEPS))
    scale = Scale(2, "dorian")
    assert np.array_equal(lock_roll(batch, scale), np.stack([lock_roll(b, scale) for b in batch]))
    assert lock_roll(batch, None) is batch


def test_transposed_answers_are_locked_as_they_sound():
    bar = note_roll((60, 0, 0.9), (61, 2, 0.9), (62, 4, 0.9))  # C C# D, played 2 semitones up: D D# E
    locked = lock_roll(bar, Scale(2, "major"), transpose=2)  # D major: D# → D (tie, lower)
    played = roll.roll_to_notes(roll.transpose_roll(locked, 2))
    assert [(n.pitch, n.start) for n in played] == [(62, 0), (62, 2), (64, 4)]


# --- KeyFollower ------------------------------------------------------------------------------------
def melody_bars(scale: Scale, n_bars: int, seed: int, tonic_octave: int = 5, chord_tones=(0, 2, 4)):
    """A performer in ``scale``: each bar starts on a chord tone of the tonic, walks by step or skip
    on the scale, notes 1-4 steps long, and ends a bar on the tonic now and then."""
    rng = np.random.default_rng(seed)
    degrees = INTERVALS[scale.name]
    base = 12 * tonic_octave + scale.root
    bars = []
    for b in range(n_bars):
        notes, step, degree = [], 0, int(rng.choice(chord_tones))
        while step < roll.STEPS:
            length = int(rng.choice([1, 2, 2, 4]))
            octave, idx = divmod(degree, len(degrees))
            pitch = base + 12 * octave + degrees[idx]
            notes.append(roll.Note(pitch, step, min(step + length, roll.STEPS), 90))
            step += length
            degree = max(-3, min(10, degree + int(rng.choice([-2, -1, -1, 1, 1, 2]))))
        if b % 2:
            notes[-1] = notes[-1]._replace(pitch=base)
        bars.append(roll.notes_to_roll(notes))
    return bars


def follow(bars, **kw):
    keys = KeyFollower(**kw)
    seen = [keys.add(b) for b in bars]
    return keys, seen


@pytest.mark.parametrize("key", ["D major", "A minor", "F major", "Bb major", "E minor", "C# minor", "G major"])
def test_follow_finds_the_key_of_a_melody(key):
    scale = parse_scale(key)
    for seed in range(5):
        keys, _ = follow(melody_bars(scale, 4, seed))
        assert keys.scale is not None
        assert set(keys.scale.pitch_classes) == set(scale.pitch_classes), (seed, keys.scale)


@pytest.mark.parametrize("key", ["D major", "A minor", "Bb major", "C# minor"])
def test_follow_names_root_and_mode_of_most_tunes(key):
    # relative major and minor share their notes (the lock is the same); the profiles name the
    # root, which a short random-walk tune leaves open now and then
    scale = parse_scale(key)
    named = [follow(melody_bars(scale, 4, seed))[0].scale for seed in range(8)]
    assert sum(k == scale for k in named) >= 5, named


def test_follow_locks_a_dorian_tune_to_its_notes():
    e_dorian = parse_scale("E dorian")
    for seed in range(5):
        keys, _ = follow(melody_bars(e_dorian, 4, seed, chord_tones=(0, 2, 4)))
        assert set(keys.scale.pitch_classes) == set(e_dorian.pitch_classes)  # D major / B minor / E dorian
        rng = np.random.default_rng(seed)
        locked = lock_roll(random_roll(rng), active_scale(FOLLOW, keys))
        assert all(e_dorian.contains(p) for p in sounding_pitches(locked))


@pytest.mark.parametrize("seed", range(6))
def test_one_odd_bar_does_not_flip_the_key(seed):
    d_major = melody_bars(parse_scale("D major"), 8, seed)
    odd = melody_bars(parse_scale("Eb major"), 1, 100 + seed)[0]
    # the odd bar heavy too: its melody over a held Eb major chord
    odd = np.maximum(odd, roll.notes_to_roll([roll.Note(p, 0, 16, 80) for p in (63, 67, 70)]))
    keys, seen = follow(d_major[:4] + [odd] + d_major[4:])
    assert seen[4] == seen[3] is not None  # the odd bar changes nothing
    assert all(3 not in k.pitch_classes for k in seen[3:]), seen  # no key with its Eb, ever
    assert set(keys.scale.pitch_classes) == set(parse_scale("D major").pitch_classes)


def test_a_new_key_held_for_bars_takes_over():
    keys, seen = follow(melody_bars(parse_scale("D major"), 4, 3) + melody_bars(parse_scale("Bb major"), 6, 4))
    assert seen[3] == Scale(2, "major")
    assert set(keys.scale.pitch_classes) == set(parse_scale("Bb major").pitch_classes)
    assert seen[4] == Scale(2, "major")  # not on the first bar of the new key


def test_nothing_is_locked_before_enough_notes_and_follow_then_changes_nothing():
    keys = KeyFollower()
    three = roll.notes_to_roll([roll.Note(p, 4 * k, 4 * k + 4, 90) for k, p in enumerate((62, 66, 69))])
    assert keys.add(three) is None and keys.add(three) is None  # six notes, three pitch classes
    assert keys.add(roll.empty_roll()) is None
    bar = random_roll(np.random.default_rng(1))
    assert lock_roll(bar, active_scale(FOLLOW, keys)) is bar
    assert active_scale(FOLLOW, None) is None and active_scale(None, keys) is None
    assert active_scale(Scale(2, "dorian"), keys) == Scale(2, "dorian")


def test_rests_keep_the_key():
    keys, _ = follow(melody_bars(parse_scale("G major"), 4, 5))
    for _ in range(6):
        keys.add(roll.empty_roll())
    assert keys.scale == Scale(7, "major")


def test_follow_among_more_scales_and_a_scale_it_has_no_profile_for():
    a_harmonic = parse_scale("A harmonic minor")
    keys, _ = follow(melody_bars(a_harmonic, 4, 6), scales=("major", "minor", "harmonic minor"))
    assert keys.scale == a_harmonic
    with pytest.raises(ValueError, match="no key profile for blues"):
        KeyFollower(scales=("major", "blues"))
