"""Training batches: augmentation by transposition, epochs sharded per rank."""

from __future__ import annotations

import numpy as np
import pytest

from srlive.roll import transpose_roll
from srlive_training import batches
from srlive_training.corpus import BarCorpus


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


def test_augment_transpose_moves_every_channel_of_bars_heard_with_the_bar_written():
    """The step decoder's batches: the bars heard [N, 4, 88, 16] and the bar it writes [N, 1, 88, 16]
    move by one interval together."""
    rng = np.random.default_rng(3)
    heard = (rng.random((32, 4, 88, 16)) > 0.97).astype(np.float32)
    bar = (rng.random((32, 1, 88, 16)) > 0.97).astype(np.float32)
    a, b = batches.augment_transpose(bar, heard, np.random.default_rng(6))
    assert a.shape == bar.shape and b.shape == heard.shape
    for i, k in enumerate(np.random.default_rng(6).integers(-5, 6, size=32)):
        np.testing.assert_array_equal(a[i, 0], transpose_roll(bar[i, 0], k))
        for c in range(4):
            np.testing.assert_array_equal(b[i, c], transpose_roll(heard[i, c], k))
