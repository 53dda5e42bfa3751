"""The measures of training/metrics.py on hand-made inputs with known answers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srlive.roll import empty_roll, notes_to_roll, transpose_roll
from srlive_training import metrics

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]
VEL = 100


def bar(*notes):
    """notes: (pitch, start, end) or (pitch, start, end, velocity)."""
    return notes_to_roll([n if len(n) == 4 else (*n, VEL) for n in notes])


def melody(pitches, length=2):
    return bar(*[(p, length * k, length * (k + 1)) for k, p in enumerate(pitches)])


# ------------------------------------------------------------------ scales


def test_scale_consistency_of_a_major_scale_is_one():
    assert metrics.scale_consistency(C_MAJOR) == 1.0
    assert metrics.scale_consistency([p + 5 for p in C_MAJOR]) == 1.0  # F major


def test_scale_consistency_of_a_chromatic_run_is_seven_twelfths():
    assert metrics.scale_consistency(range(60, 72)) == pytest.approx(7 / 12)
    assert metrics.scale_consistency(range(48, 72)) == pytest.approx(7 / 12)


def test_scale_consistency_knows_harmonic_minor():
    a_harmonic = [57, 59, 60, 62, 64, 65, 68]  # A B C D E F G#
    assert metrics.scale_consistency(a_harmonic) == 1.0
    # no major or natural-minor scale holds all seven
    shares = metrics.scale_shares(a_harmonic).reshape(12, 3)
    assert shares[:, :2].max() == pytest.approx(6 / 7)


def test_scale_consistency_counts_notes_not_pitch_classes():
    # ten notes, nine of them the white keys (all seven) and one C#: no scale holds more than 9
    assert metrics.scale_consistency([60, 60, 60, 62, 64, 65, 67, 69, 71, 61]) == pytest.approx(0.9)


def test_scale_consistency_of_nothing_is_nan():
    assert math.isnan(metrics.scale_consistency([]))


# ------------------------------------------------------------------ the paper's measures


def test_tone_span_uniqueness_velocity_span():
    assert metrics.tone_span([60, 67, 72, 55]) == 17
    assert metrics.tone_span([]) == 0
    assert metrics.uniqueness([60, 60, 62, 64]) == 0.75
    assert metrics.uniqueness([60, 62, 64]) == 1.0
    assert math.isnan(metrics.uniqueness([]))
    assert metrics.velocity_span([40, 100, 64]) == 60
    assert metrics.velocity_span([]) == 0


def test_recurrence_counts_two_grams_seen_before():
    assert metrics.recurrence([60, 62, 60, 62, 60]) == 2  # (60,62) again at 2, (62,60) again at 3
    assert metrics.recurrence([60, 62, 64, 65]) == 0
    assert metrics.recurrence([60, 60, 60, 60]) == 2  # three (60,60) grams, two of them repeats
    assert metrics.recurrence([60, 62, 64, 60, 62, 64, 60, 62]) == 4
    assert metrics.recurrence([60]) == 0 and metrics.recurrence([]) == 0


def test_edit_distance_on_known_strings():
    s = lambda text: [ord(c) for c in text]  # noqa: E731
    assert metrics.edit_distance(s("kitten"), s("sitting")) == 3
    assert metrics.edit_distance(s("flaw"), s("lawn")) == 2
    assert metrics.edit_distance(s(""), s("abc")) == 3
    assert metrics.edit_distance(s("abc"), s("")) == 3
    assert metrics.edit_distance(s("same"), s("same")) == 0
    assert metrics.edit_distance(s("intention"), s("execution")) == 5


def _naive_edit_distance(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[:], i
        for j, y in enumerate(b, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (x != y))
    return d[-1]


seqs = st.lists(st.integers(0, 3), max_size=9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(seqs, seqs), min_size=1, max_size=8))
def test_batched_edit_distance_matches_the_textbook_dp(pairs):
    got = metrics._batched_edit_distance([np.array(a, dtype=np.int64) for a, _ in pairs],
                                   [np.array(b, dtype=np.int64) for _, b in pairs])
    assert list(got) == [_naive_edit_distance(a, b) for a, b in pairs]


def test_diversity_of_known_sets():
    assert metrics.diversity([[60, 62, 64]] * 4) == 0.0
    assert metrics.diversity([[60, 62, 64], [61, 63, 65]]) == 1.0
    assert metrics.diversity([[60, 62, 64], [60, 62, 65]]) == pytest.approx(1 / 3)
    # pairs (a,b)=1/3, (a,c)=1/4 (one insertion over length 4), (b,c)=2/4
    assert metrics.diversity([[1, 2, 3], [1, 2, 4], [1, 2, 3, 5]]) == pytest.approx((1 / 3 + 1 / 4 + 1 / 2) / 3)
    assert math.isnan(metrics.diversity([[60, 62]]))
    assert metrics.diversity([[60, 62], [], [60, 62]]) == 0.0  # empty samples are left out


def test_diversity_subsampling_estimates_the_full_mean():
    rng = np.random.default_rng(3)
    many = [rng.integers(60, 64, size=rng.integers(3, 12)) for _ in range(300)]  # 44,850 pairs
    full = metrics.diversity(many, max_pairs=10**6)
    est = metrics.diversity(many, rng=np.random.default_rng(0), max_pairs=2000)
    assert est == pytest.approx(full, abs=0.02)
    assert est != full  # it really subsampled


def test_tone_sequence_orders_by_onset_then_pitch_across_bars():
    rolls = np.stack([bar((67, 0, 4), (60, 0, 4), (64, 0, 4), (62, 4, 8)), bar((59, 0, 2))])
    notes = metrics.sample_notes(rolls)
    assert list(notes[:, 0]) == [60, 64, 67, 62, 59]
    assert list(notes[:, 1]) == [0, 0, 0, 4, 16]
    assert list(metrics.tone_sequence(notes[::-1])) == [60, 64, 67, 62, 59]


# ------------------------------------------------------------------ MuseGAN per bar


def test_eb_upc_qn_on_hand_made_bars():
    bars = [
        empty_roll(),
        bar((60, 0, 4), (64, 0, 4), (67, 0, 16)),  # C E G: 3 pitch classes, all >= 3 steps
        bar((48, 0, 1), (60, 4, 6)),  # two Cs: one pitch class, both short
    ]
    notes = [metrics.bar_notes(b) for b in bars]
    assert metrics.empty_bar_rate(notes) == pytest.approx(1 / 3)
    assert metrics.used_pitch_classes(notes) == 2.0  # (3 + 1) / 2 non-empty bars
    assert metrics.qualified_note_rate(notes) == pytest.approx(3 / 5)


def test_eb_follows_the_threshold():
    quiet = bar((60, 0, 4, 30))  # velocity 30 -> 0.236
    assert metrics.empty_bar_rate([metrics.bar_notes(quiet, 0.5)]) == 1.0
    assert metrics.empty_bar_rate([metrics.bar_notes(quiet, metrics.REAL_THRESHOLD)]) == 0.0
    assert math.isnan(metrics.used_pitch_classes([metrics.bar_notes(empty_roll())]))


# ------------------------------------------------------------------ key fit


C_CONTEXT = np.stack([melody(C_MAJOR[:4]), melody(C_MAJOR[4:]), melody([60, 64, 67]), melody([65, 69, 72])])


def test_key_fit_of_c_major_answer_to_c_major_context_is_one():
    assert metrics.key_fit(C_CONTEXT, melody([72, 71, 69, 67, 65])) == 1.0
    assert metrics.key_fit(list(C_CONTEXT), melody([60])) == 1.0  # a list of bars works too


def test_key_fit_counts_f_sharp_notes_out_of_c_major():
    assert metrics.key_fit(C_CONTEXT, melody([60, 64, 66, 67])) == pytest.approx(0.75)
    assert metrics.key_fit(C_CONTEXT, melody([66, 66 + 12, 61])) == 0.0


def test_key_fit_is_transposition_invariant():
    ans = melody([60, 64, 66, 67, 70])
    base = metrics.key_fit(C_CONTEXT, ans)
    for k in (-5, 1, 6):
        assert metrics.key_fit(transpose_roll(C_CONTEXT, k), transpose_roll(ans, k)) == pytest.approx(base)


def test_key_fit_of_an_empty_answer_is_nan_and_threshold_applies_to_the_answer():
    assert math.isnan(metrics.key_fit(C_CONTEXT, empty_roll()))
    soft = bar((66, 0, 4, 40), (60, 4, 8, 100))  # F# at 0.31 sounds only under a low threshold
    assert metrics.key_fit(C_CONTEXT, soft, threshold=0.5) == 1.0
    assert metrics.key_fit(C_CONTEXT, soft, threshold=0.2) == 0.5


def test_key_fit_averages_over_tied_scales():
    # C and G alone fit many scales equally; the answer's share is averaged over all of them
    ctx = np.stack([melody([60, 67])] * 4)
    ties = metrics.best_scales([60, 67])
    assert len(ties) > 1
    share_b = np.mean([metrics.SCALE_MASKS[s][11] for s in ties])
    assert metrics.key_fit(ctx, melody([71])) == pytest.approx(share_b)
    assert 0 < share_b < 1


# ------------------------------------------------------------------ whole samples


def test_summarize_samples_on_two_hand_made_samples():
    a = np.stack([melody([60, 62, 64, 65])] * 5)  # 20 notes, 4 distinct, recurrence 15
    b = np.stack([melody([60, 62])] + [empty_roll()] * 4)
    out = metrics.summarize_samples(np.stack([a, b]))
    assert out["scale_consistency"] == 1.0
    assert out["tone_span"] == (5 + 2) / 2
    assert out["uniqueness"] == pytest.approx((4 / 20 + 1.0) / 2)
    assert out["recurrence"] == pytest.approx((15 + 0) / 2)
    assert out["empty_bars"] == pytest.approx(4 / 10)
    assert out["used_pitch_classes"] == pytest.approx((4 * 5 + 2) / 6)
    assert out["qualified_notes"] == 0.0
    assert out["diversity"] == pytest.approx(18 / 20)


# ------------------------------------------------------------------ how a sample moves


def test_stepwise_share_counts_successive_tones_one_or_two_semitones_apart():
    assert metrics.stepwise_share(C_MAJOR) == 1.0
    assert metrics.stepwise_share([60, 67, 60, 72]) == 0.0
    assert metrics.stepwise_share([60, 62, 62, 69, 68]) == pytest.approx(2 / 4)  # a repeat is not a step
    assert math.isnan(metrics.stepwise_share([60]))


def test_kept_cells_is_the_share_of_a_bars_cells_already_sounding_in_the_bar_before():
    first = melody([60, 62, 64, 65])  # 4 notes of 2 steps
    same = np.stack([first, first, first])
    assert metrics.kept_cells(same) == 1.0
    moved = np.stack([first, melody([60, 67, 69, 71])])  # only the first note (2 of 8 cells) stays
    assert metrics.kept_cells(moved) == pytest.approx(2 / 8)
    assert math.isnan(metrics.kept_cells(np.stack([first, empty_roll()])))  # nothing sounds after the first bar
    # the sample measures carry both, and the repeat-the-bar baseline keeps every cell
    m = metrics.sample_measures(np.stack([first] * 5), metrics.REAL_THRESHOLD)
    # 20 tones: 3 steps inside each of the 5 bars, and a fourth down (65 -> 60) across each bar line
    assert m["kept_cells"] == 1.0 and m["stepwise"] == pytest.approx(15 / 19)


def test_sounding_steps_is_the_share_of_steps_at_which_something_sounds():
    line = melody([60, 62, 64, 65], length=4)  # 4 notes back to back: every step sounds
    assert metrics.sounding_steps(line[None]) == 1.0
    gaps = bar((60, 0, 2), (64, 2, 4), (67, 2, 4), (60, 8, 12))  # 8 of 16 steps, a chord counts once
    assert metrics.sounding_steps(np.stack([line, gaps])) == pytest.approx(24 / 32)
    assert metrics.sounding_steps(np.stack([gaps, empty_roll()])) == pytest.approx(8 / 32)
    assert metrics.sample_measures(np.stack([line, gaps]), metrics.REAL_THRESHOLD)["sounding_steps"] == pytest.approx(0.75)


def test_new_pitches_is_the_share_of_a_bars_pitches_that_did_not_sound_in_the_bar_before():
    first = melody([60, 62, 64, 65])
    assert metrics.new_pitches(np.stack([first, first])) == 0.0
    # 60 and 62 stay, 67 and 69 are new (a pitch counts once however often it sounds)
    second = melody([60, 67, 62, 69, 67, 60, 62, 69], length=2)
    assert metrics.new_pitches(np.stack([first, second])) == pytest.approx(2 / 4)
    # mean over the bars that sound; a silent bar is skipped and makes the next bar's pitches all new
    assert metrics.new_pitches(np.stack([first, second, empty_roll(), first])) == pytest.approx((0.5 + 1.0) / 2)
    assert math.isnan(metrics.new_pitches(np.stack([first, empty_roll()])))
    assert metrics.sample_measures(np.stack([first] * 5), metrics.REAL_THRESHOLD)["new_pitches"] == 0.0



def test_onset_profile_counts_where_notes_start_in_the_bar():
    from srlive_training.metrics import onset_profile, profile_distance

    on_beats = np.array([[60, 0, 4, 90], [62, 4, 8, 90], [64, 8, 12, 90], [65, 12, 16, 90]])
    late = np.array([[60, 1, 4, 90], [62, 5, 8, 90]])
    profile = onset_profile([on_beats, late])
    assert profile.sum() == pytest.approx(1.0)
    assert profile[0] == pytest.approx(1 / 6) and profile[1] == pytest.approx(1 / 6) and profile[2] == 0
    assert np.isnan(onset_profile([np.zeros((0, 4))])).all()
    beats = onset_profile([on_beats])
    assert profile_distance(beats, beats) == 0.0
    assert profile_distance(beats, onset_profile([late])) == pytest.approx(1.0)
    assert profile_distance(beats, profile) == pytest.approx(1 / 3)


def test_summary_reports_notes_per_sample_and_where_they_fall():
    from srlive.roll import notes_to_roll
    from srlive_training.metrics import summarize_samples

    bar = notes_to_roll([(60, 0, 4, 90), (62, 4, 8, 90), (64, 9, 12, 90)])
    out = summarize_samples(np.stack([np.stack([bar] * 5)] * 2))
    assert out["notes"] == 15
    assert out["downbeat"] == pytest.approx(1 / 3) and out["odd_steps"] == pytest.approx(1 / 3)
    assert len(out["onset_profile"]) == 16


# --------------------------------------------------------------------------- bars of 12 steps (3/4, 6/8)


def triple_bar(*notes):
    """A 12-step roll (a 3/4 or 6/8 bar) holding (pitch, start, end) notes at velocity 90."""
    return notes_to_roll([(p, s, e, 90) for p, s, e in notes], 12)


def test_notes_of_twelve_step_bars_end_at_the_bar_and_follow_on_at_step_twelve():
    jig = [triple_bar((67, 0, 6), (71, 6, 12)), triple_bar((72, 0, 2), (74, 2, 12))]
    np.testing.assert_array_equal(metrics.bar_notes(jig[0])[:, :3], [[67, 0, 6], [71, 6, 12]])
    assert metrics.bar_notes(np.ones((88, 12), np.float32), threshold=0.0)[:, 2].max() == 12  # nothing past the bar
    notes = metrics.sample_notes(np.stack(jig))
    assert notes[:, 1].tolist() == [0, 6, 12, 14] and notes[-1, 2] == 24


def test_onset_profile_downbeat_and_odd_sixteenths_of_twelve_step_bars():
    six_eight = triple_bar((67, 0, 6), (71, 6, 12))  # two dotted quarters: onsets on 0 and 6
    with_odd = triple_bar((60, 0, 3), (62, 3, 4), (64, 4, 12))  # onsets on 0, 3 (odd) and 4
    out = metrics.summarize_samples([np.stack([six_eight, with_odd])])
    assert len(out["onset_profile"]) == 12
    assert out["downbeat"] == pytest.approx(2 / 5)
    assert out["odd_steps"] == pytest.approx(1 / 5)
    assert out["onset_profile"][6] == pytest.approx(1 / 5) and out["onset_profile"][3] == pytest.approx(1 / 5)


def test_key_fit_and_sounding_steps_read_twelve_step_bars():
    scale = [60, 62, 64, 65, 67, 69, 71, 72]  # C major, four notes a bar
    c_major = np.stack([triple_bar(*[(p, 3 * k, 3 * k + 3) for k, p in enumerate(scale[b:b + 4])]) for b in (0, 4)])
    assert metrics.key_fit(c_major, triple_bar((62, 0, 4), (64, 4, 8), (65, 8, 12))) == 1.0
    assert metrics.key_fit(c_major, triple_bar((61, 0, 6), (66, 6, 12))) == 0.0
    assert metrics.sounding_steps(np.stack([triple_bar((60, 0, 6))])) == 0.5


def test_count_correlation_is_pearsons_and_nan_when_a_side_does_not_vary():
    assert metrics.count_correlation([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert metrics.count_correlation([1, 2, 3, 4], [8, 6, 4, 2]) == pytest.approx(-1.0)
    assert math.isnan(metrics.count_correlation([1, 2, 3], [5, 5, 5]))
    assert math.isnan(metrics.count_correlation([1], [2]))


def test_pace_kept_compares_the_first_and_last_bars_notes_over_samples():
    def notes(k):
        return np.zeros((k, 4), dtype=np.int64)

    kept = [[notes(2), notes(9), notes(2)], [notes(8), notes(1), notes(8)], [notes(4), notes(4), notes(5)]]
    lost = [[notes(2), notes(5), notes(5)], [notes(8), notes(5), notes(5)], [notes(4), notes(5), notes(6)]]
    assert metrics.pace_kept(kept) > 0.95
    assert metrics.pace_kept(lost) < 0  # every phrase drifts to five notes or so
    assert math.isnan(metrics.pace_kept([[notes(2), notes(5)]]))  # one phrase: no correlation
