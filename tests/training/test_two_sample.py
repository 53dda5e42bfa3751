"""The classifier two-sample test on synthetic tunes whose answer is known: answers drawn like the
real next bars cannot be told from them; empty or random-pitch answers always can."""

import numpy as np
import pytest

from srlive.roll import notes_to_roll, transpose_roll
from srlive_training import metrics, two_sample

MAJOR = (0, 2, 4, 5, 7, 9, 11)
K = 400  # items: 200 a side


def tune_bar(rng, root, length, steps=16):
    """One bar of a tune: notes of `length` steps on degrees of the root's major scale."""
    return notes_to_roll([(60 + root + MAJOR[rng.integers(7)], s, s + length, 100) for s in range(0, steps, length)],
                         steps)


def synthetic_items(seed=0, k=K):
    """k items: 4 bars heard and a real next bar from one tune process (a key and a pace each),
    and a second next bar from the same process (identical in distribution)."""
    rng = np.random.default_rng(seed)
    ctx, real, same = [], [], []
    for _ in range(k):
        root, length = int(rng.integers(12)), int(rng.choice([2, 4]))
        ctx.append([tune_bar(rng, root, length) for _ in range(4)])
        real.append(tune_bar(rng, root, length))
        same.append(tune_bar(rng, root, length))
    return np.array(ctx), np.array(real), np.array(same)


def random_pitch_bars(seed, k=K):
    rng = np.random.default_rng(seed)
    return np.array([notes_to_roll([(int(rng.integers(40, 90)), s, s + 2, 100) for s in range(0, 16, 2)])
                     for _ in range(k)])


@pytest.fixture(scope="module")
def items():
    return synthetic_items()


@pytest.mark.slow
def test_answers_drawn_like_the_music_cannot_be_told_from_it(items):
    ctx, real, same = items
    acc = two_sample.classifier_test(ctx, real, same, metrics.REAL_THRESHOLD, seed=0)
    assert set(acc) == {"logistic", "boosted"}
    for name, value in acc.items():
        assert abs(value - 0.5) < 0.08, (name, value)
    # the control (the real bars themselves as the answers) likewise
    control = two_sample.classifier_test(ctx, real, real, metrics.REAL_THRESHOLD, seed=0)
    assert all(abs(v - 0.5) < 0.08 for v in control.values()), control


@pytest.mark.slow
def test_empty_answers_are_always_told_apart(items):
    ctx, real, _ = items
    acc = two_sample.classifier_test(ctx, real, np.zeros_like(real), 0.5, seed=0)
    assert acc["logistic"] > 0.98 and acc["boosted"] > 0.98


@pytest.mark.slow
def test_random_pitch_answers_are_told_apart(items):
    ctx, real, _ = items
    acc = two_sample.classifier_test(ctx, real, random_pitch_bars(1), 0.5, seed=0)
    assert acc["logistic"] > 0.9 and acc["boosted"] > 0.9, acc


@pytest.mark.slow
def test_answers_in_another_key_are_told_apart_by_fit_with_the_bars_before(items):
    """Right rhythm and scale, but a tritone away from the bars heard: only the features relative to
    the key of the context can tell."""
    ctx, real, same = items
    moved = np.array([transpose_roll(b, 6) for b in same])
    acc = two_sample.classifier_test(ctx, real, moved, metrics.REAL_THRESHOLD, seed=0)
    assert max(acc.values()) > 0.85, acc


@pytest.mark.slow
def test_answers_that_repeat_the_bar_heard_are_told_apart(items):
    """Same key, rhythm and notes as the music, but always bar t-1 again: the shares with the bars
    heard tell it."""
    ctx, real, _ = items
    acc = two_sample.classifier_test(ctx, real, ctx[:, -1], metrics.REAL_THRESHOLD, seed=0)
    assert min(acc.values()) > 0.95, acc


def test_key_of_finds_the_tonic_and_the_mode():
    def melody(pitches, tonic):
        """Eighth notes; the tonic's notes held a quarter."""
        return np.array([(p, 4 * i, 4 * i + (4 if p % 12 == tonic else 2), 100) for i, p in enumerate(pitches)])

    assert two_sample.key_of(melody([60, 62, 64, 65, 67, 64, 60, 67, 60], 0)) == (0, False)  # C major
    assert two_sample.key_of(melody([62, 64, 66, 67, 69, 66, 62, 69, 62], 2)) == (2, False)  # D major
    assert two_sample.key_of(melody([57, 59, 60, 62, 64, 60, 57, 64, 57, 56], 9)) == (9, True)  # A minor
    assert two_sample.key_of(np.zeros((0, 4))) == (0, False)


def test_features_do_not_change_when_the_item_is_transposed(items):
    ctx, real, _ = items
    up = lambda bars: np.array([transpose_roll(b, 5) for b in bars.reshape(-1, 88, 16)]).reshape(bars.shape)  # noqa: E731
    a = two_sample.features(ctx[:20], real[:20], 0.5)
    b = two_sample.features(up(ctx[:20]), up(real[:20]), 0.5)
    assert np.allclose(a, b)


def test_interval_histogram_bins_by_size_and_direction():
    h = two_sample.interval_histogram([60, 60, 62, 59, 64, 72, 60])
    # unison; up a step; down a third; up a fourth-fifth; up wider; down wider
    assert h.tolist() == pytest.approx(np.array([1, 1, 0, 0, 1, 1, 0, 1, 1]) / 6)
    assert two_sample.interval_histogram([60]).sum() == 0


def test_too_few_items_give_nan():
    x = np.ones((3, 5))
    acc = two_sample.cross_validated_accuracy(x, x)
    assert all(np.isnan(v) for v in acc.values())
