"""Training batches: augmentation by transposition, epochs sharded per rank, the bar after next."""

from __future__ import annotations

import numpy as np
import pytest

from srlive.roll import transpose_roll
from srlive_training import batches
from srlive_training.corpus import BarCorpus
from tiny_corpus import tiny_corpus


def test_augment_transpose_matches_transpose_roll_and_keeps_pairs_aligned():
    rng = np.random.default_rng(0)
    prev = (rng.random((64, 1, 88, 16)) > 0.97).astype(np.float32) * 0.7
    prev[:, 0, 87, :] = 1.0  # top and bottom rows must fold back by an octave
    prev[:, 0, 0, :] = 0.4
    nxt = prev[::-1].copy()
    a, b = batches.augment_transpose(prev, nxt, np.random.default_rng(5))
    ks = np.random.default_rng(5).integers(-5, 6, size=64)
    assert a.shape == prev.shape and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    assert len(set(ks.tolist())) > 5
    for i, k in enumerate(ks):
        np.testing.assert_array_equal(a[i], transpose_roll(prev[i], k))
        np.testing.assert_array_equal(b[i], transpose_roll(nxt[i], k))  # same interval for next
    assert (prev[:, 0, 87] == 1).all()  # inputs untouched


def test_shift_matches_transpose_roll_over_the_whole_range():
    rng = np.random.default_rng(1)
    x = (rng.random((250, 88, 16)) > 0.8).astype(np.float32) * rng.random((250, 88, 16)).astype(np.float32)
    ks = np.tile(np.arange(-12, 13), 10)
    y = batches._shift(x, ks)
    for i, k in enumerate(ks):
        np.testing.assert_array_equal(y[i], transpose_roll(x[i], k))
    with pytest.raises(ValueError):
        batches.augment_transpose(x, x, rng, low=-13, high=0)


def id_corpus(tune_lengths) -> BarCorpus:
    """Bar i has one cell on: flat index i, so batches can be read back to bar ids."""
    n = sum(tune_lengths)
    bars = np.zeros((n, 88 * 16), dtype=np.uint8)
    bars[np.arange(n), np.arange(n)] = 127
    tune = np.repeat(np.arange(len(tune_lengths)), tune_lengths)
    return BarCorpus(bars.reshape(n, 88, 16), tune, np.zeros(len(tune_lengths), np.int8),
                     [f"t{i}" for i in range(len(tune_lengths))])


def ids(batch: np.ndarray) -> np.ndarray:
    return batch.reshape(len(batch), -1).argmax(axis=1)


@pytest.mark.parametrize("world, batch, drop_last", [(1, 7, True), (2, 4, True), (3, 5, False)])
def test_batches_shard_an_epoch_into_disjoint_slices(world, batch, drop_last):
    corpus = id_corpus([9, 14, 1, 20])  # 40 pairs
    pairs = set(corpus.pairs("train").tolist())
    seen = []
    per_rank = []
    for rank in range(world):
        got = list(batches.iterate_batches(corpus, "train", batch, np.random.default_rng(11), augment=False,
                                        rank=rank, world_size=world, drop_last=drop_last))
        per_rank.append(len(got))
        for prev, nxt in got:
            assert prev.shape[1:] == (1, 88, 16) and prev.dtype == np.float32 and nxt.shape == prev.shape
            assert len(prev) == batch or not drop_last
            np.testing.assert_array_equal(ids(nxt), ids(prev) + 1)  # next is the bar after prev
            seen.extend(ids(prev).tolist())
    assert len(seen) == len(set(seen)) and set(seen) <= pairs  # disjoint, pairs only
    if drop_last:
        assert len(set(per_rank)) == 1  # every rank the same number of steps (DDP)
        assert len(seen) > len(pairs) - world * batch
    else:
        assert set(seen) == pairs
    # shuffled, and the order depends on the rng
    first = ids(next(batches.iterate_batches(corpus, "train", 8, np.random.default_rng(11), augment=False))[0])
    other = ids(next(batches.iterate_batches(corpus, "train", 8, np.random.default_rng(12), augment=False))[0])
    assert not np.array_equal(first, other) and not np.array_equal(first, np.sort(first))


def test_batches_augment_in_range():
    corpus = id_corpus([30, 30])
    prev, nxt = next(batches.iterate_batches(corpus, "train", 16, np.random.default_rng(0)))
    assert prev.shape == (16, 1, 88, 16) and prev.min() >= 0 and prev.max() <= 1
    assert (prev.reshape(16, -1).sum(axis=1) == 1).all()  # one cell moved, not lost


def test_batches_with_after_bring_the_bar_after_next_transposed_with_the_pair():
    c = tiny_corpus(n_tunes=6, bars=5, seed=3)
    c.split[:] = 0
    plain = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=True))
    full = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=True, with_after=True))
    assert len(plain) == len(full) > 0
    raw = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=False, with_after=True))
    seen_end = seen_after = False
    for (p, n), (p2, n2, after, has), (rp, rn, rafter, rhas) in zip(plain, full, raw):
        np.testing.assert_array_equal(p, p2)  # the same draws: prev and next unchanged by with_after
        np.testing.assert_array_equal(n, n2)
        np.testing.assert_array_equal(has, rhas)
        for i in range(len(p)):
            # find the pair in the corpus: bar j, j+1 of one tune
            j = next(j for j in c.pairs("train") if np.array_equal(c.rolls(j), rp[i, 0]) and np.array_equal(c.rolls(j + 1), rn[i, 0]))
            goes_on = j + 2 < len(c.tune) and c.tune[j + 2] == c.tune[j]
            assert bool(has[i]) == goes_on
            if goes_on:
                seen_after = True
                np.testing.assert_array_equal(rafter[i, 0], c.rolls(j + 2))
                k = next(k for k in range(-5, 6) if np.array_equal(transpose_roll(rp[i, 0], k), p2[i, 0]))
                np.testing.assert_array_equal(after[i, 0], transpose_roll(rafter[i, 0], k))
            else:
                seen_end = True
                assert not after[i].any()
    assert seen_end and seen_after


def test_context_two_brings_the_bar_before_in_its_tune_and_silence_before_a_tunes_first_bar():
    corpus = id_corpus([5, 7])
    seen_first = seen_inner = False
    for prev, nxt in batches.iterate_batches(corpus, "train", 4, np.random.default_rng(2), augment=False, context=2):
        assert prev.shape[1:] == (2, 88, 16) and nxt.shape[1:] == (1, 88, 16)
        heard = ids(prev[:, 0])
        np.testing.assert_array_equal(ids(nxt[:, 0]), heard + 1)
        for i, j in enumerate(heard):
            if j == 0 or corpus.tune[j - 1] != corpus.tune[j]:  # a tune's first bar: nothing before it
                seen_first = True
                assert prev[i, 1].max() == 0
            else:
                seen_inner = True
                assert ids(prev[i, 1:2])[0] == j - 1
    assert seen_first and seen_inner


def test_memory_is_the_mean_of_the_bar_heard_and_the_bars_before_it_in_its_tune():
    corpus = id_corpus([5, 7])
    seen_short = seen_full = False
    for prev, nxt in batches.iterate_batches(corpus, "train", 4, np.random.default_rng(2), augment=False, context=2,
                                             memory=3):
        heard = ids(prev[:, 0])
        for i, j in enumerate(heard):
            mine = [k for k in (j, j - 1, j - 2) if k >= 0 and corpus.tune[k] == corpus.tune[j]]
            want = corpus.rolls(np.array(mine)).mean(axis=0)
            np.testing.assert_allclose(prev[i, 1], want, rtol=1e-6)
            seen_short |= len(mine) < 3
            seen_full |= len(mine) == 3
    assert seen_short and seen_full


def test_a_rhythm_memory_stays_where_the_notes_start_whatever_key_a_pair_is_moved_to():
    c = tiny_corpus(n_tunes=6, bars=5, seed=3)
    c.split[:] = 0
    kw = dict(context=2, memory=3, memory_kind="rhythm", with_after=True)
    raw = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=False, **kw))
    moved = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=True, **kw))
    shifted = False
    for (rp, *_), (p, *_) in zip(raw, moved):
        shifted |= not np.array_equal(rp[:, 0], p[:, 0])
        np.testing.assert_array_equal(p[:, 1], rp[:, 1])
        assert all(np.array_equal(p[i, 1], np.repeat(p[i, 1, :1], 88, axis=0)) for i in range(len(p)))
    assert shifted


def test_context_bars_are_transposed_with_the_bar_heard():
    c = tiny_corpus(n_tunes=6, bars=5, seed=3)
    c.split[:] = 0
    raw = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=False, context=2, with_after=True))
    moved = list(batches.iterate_batches(c, "train", 4, np.random.default_rng(7), augment=True, context=2, with_after=True))
    for (rp, rn, ra, _), (p, n, a, _) in zip(raw, moved):
        for i in range(len(p)):
            k = next(k for k in range(-5, 6) if np.array_equal(transpose_roll(rp[i, 0], k), p[i, 0]))
            for got, was in ((p[i, 1], rp[i, 1]), (n[i, 0], rn[i, 0]), (a[i, 0], ra[i, 0])):
                np.testing.assert_array_equal(got, transpose_roll(was, k))


def test_ahead_brings_the_bars_after_next_that_the_tune_has():
    corpus = id_corpus([6, 9])
    seen_end = False
    for prev, nxt, after, has in batches.iterate_batches(corpus, "train", 4, np.random.default_rng(3), augment=False,
                                                         with_after=True, ahead=3):
        assert after.shape[1:] == (3, 88, 16) and has.shape == (len(prev), 3)
        for i, j in enumerate(ids(prev[:, 0])):
            for k in range(3):
                there = j + 2 + k < len(corpus.tune) and corpus.tune[j + 2 + k] == corpus.tune[j]
                assert bool(has[i, k]) == there
                if there:
                    assert ids(after[i, k:k + 1])[0] == j + 2 + k
                else:
                    seen_end = True
                    assert after[i, k].max() == 0
    assert seen_end
