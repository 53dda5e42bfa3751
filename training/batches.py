"""Training batches: pairs of consecutive bars (x^{t-1}, x^t) of one split, shuffled, sharded per
rank for DistributedDataParallel, and transposed at random (augmentation).

`iterate_batches` gives one epoch; `BatchStream` gives endless batches with a resumable position;
`fixed_val_batches` the same validation batches every time.
"""

from __future__ import annotations

import copy
from typing import Iterator

import numpy as np

from srlive.errors import UserError
from srlive.roll import N_PITCHES
from srlive_training.corpus import BarCorpus

MAX_SHIFT = 12  # augment_transpose's limit: a row pushed off the keyboard folds back exactly once


def _shift(x: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Each x[i] ([..., 88, 16]) shifted by ks[i] semitones (|k| <= 12) — srlive.roll.transpose_roll
    for a batch: rows pushed off the top come back an octave lower (and off the bottom, an octave
    higher), keeping the louder value where they land on a sounding cell. One pass per interval."""
    out = np.empty_like(x)
    top = N_PITCHES - 12  # first row of the top octave
    for k in np.unique(ks):
        k = int(k)
        sel = np.nonzero(ks == k)[0]
        xs = x[sel]
        o = np.zeros_like(xs)
        if k >= 0:
            o[..., k:, :] = xs[..., : N_PITCHES - k, :]
            seg = o[..., top : top + k, :]
            np.maximum(seg, xs[..., N_PITCHES - k :, :], out=seg)
        else:
            o[..., : N_PITCHES + k, :] = xs[..., -k:, :]
            seg = o[..., 12 + k : 12, :]
            np.maximum(seg, xs[..., :-k, :], out=seg)
        out[sel] = o
    return out


def augment_transpose(prev: np.ndarray, nxt: np.ndarray, rng: np.random.Generator, low: int = -5, high: int = 6):
    """Shift each pair (prev[i], nxt[i]) by one random interval in [low, high) semitones.

    Works on [N, 88, 16] or [N, C, 88, 16] (C may differ between the two: the step decoder's bars
    heard against the bar it writes); rows pushed off the keyboard fold back by an octave (as
    srlive.roll.transpose_roll). Returns new arrays (prev, nxt) of the same shape and dtype.
    """
    if not -MAX_SHIFT <= low < high <= MAX_SHIFT + 1:
        raise ValueError(f"shifts must lie within ±{MAX_SHIFT} semitones, got [{low}, {high})")
    arrays = [np.asarray(a) for a in (prev, nxt)]
    ref = arrays[0].shape
    if any(a.ndim != len(ref) or a.shape[0] != ref[0] or a.shape[-2:] != ref[-2:] or (a.ndim == 3 and a.shape != ref)
           for a in arrays):
        raise ValueError(f"prev {ref} and the other bars {[a.shape for a in arrays[1:]]} differ")
    ks = rng.integers(low, high, size=len(arrays[0]))
    if arrays[0].ndim == 3:
        moved = _shift(np.stack(arrays, axis=1), ks)
        return tuple(np.ascontiguousarray(moved[:, j]) for j in range(len(arrays)))
    # [N, C, 88, W]: the channels of both arrays move together
    moved = _shift(np.concatenate(arrays, axis=1), ks)
    edges = np.cumsum([0] + [a.shape[1] for a in arrays])
    return tuple(np.ascontiguousarray(moved[:, a:b]) for a, b in zip(edges[:-1], edges[1:]))


def iterate_batches(
    corpus: BarCorpus,
    split: str,
    batch_size: int,
    rng: np.random.Generator | int,
    augment: bool = True,
    rank: int = 0,
    world_size: int = 1,
    drop_last: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of (prev, next) float32 batches [N, 1, 88, W] in [0, 1], shuffled by rng.

    For DDP every rank passes an rng in the same state (same seed and epoch): they draw the same
    permutation and each takes its own contiguous slice, disjoint from the others. With drop_last
    the slices are equal and so is every rank's number of batches (what DDP needs); without it the
    remainder pairs go to the first ranks and a last short batch is yielded.
    """
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} outside world of {world_size}")
    pairs = corpus.pairs(split)
    order = pairs[rng.permutation(len(pairs))]
    if drop_last:
        order = order[: len(order) // world_size * world_size]
    mine = np.array_split(order, world_size)[rank]
    aug_rng = np.random.default_rng([int(rng.integers(2**62)), rank])
    stop = len(mine) - len(mine) % batch_size if drop_last else len(mine)
    for b in range(0, stop, batch_size):
        idx = mine[b : b + batch_size]
        prev, nxt = corpus.rolls(idx)[:, None], corpus.rolls(idx + 1)[:, None]
        if augment:
            prev, nxt = augment_transpose(prev, nxt, aug_rng, -5, 6)
        yield prev, nxt


class BatchStream:
    """Endless train batches from iterate_batches, one epoch after another, with a
    resumable position: the data rng's state at the start of the epoch plus the number of batches
    already taken from it (restoring replays the epoch's first batches to reach the same state)."""

    def __init__(self, corpus: BarCorpus, batch_size: int, seed: int, augment: bool, rank: int = 0, world_size: int = 1):
        self.corpus, self.batch_size, self.augment = corpus, batch_size, augment
        self.rank, self.world_size = rank, world_size
        self.rng = np.random.default_rng(seed)  # same on every rank: same epoch order, own shard
        self.epoch = 0
        self.pos = 0
        self.epoch_state = None
        self._it = None

    def _start_epoch(self):
        self.epoch_state = copy.deepcopy(self.rng.bit_generator.state)
        self.pos = 0
        self._it = iter(iterate_batches(self.corpus, "train", self.batch_size, self.rng, augment=self.augment,
                                        rank=self.rank, world_size=self.world_size, drop_last=True))

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        if self._it is None:
            self._start_epoch()
        for _ in range(2):
            try:
                batch = next(self._it)
                self.pos += 1
                return batch
            except StopIteration:
                self.epoch += 1
                self._start_epoch()
        raise UserError(f"the train split has fewer than {self.batch_size * self.world_size} pairs of bars "
                        "for one batch on every rank; use a smaller --batch-size or more data")

    def state(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "epoch_state": self.epoch_state}

    def restore(self, st: dict) -> None:
        if st.get("epoch_state") is None:
            return
        self.rng.bit_generator.state = copy.deepcopy(st["epoch_state"])
        self.epoch = st["epoch"]
        self._start_epoch()
        for _ in range(st["pos"]):
            next(self._it)
            self.pos += 1


def fixed_val_batches(corpus: BarCorpus, batch_size: int, n_batches: int) -> list:
    """Up to n_batches validation batches, the same on every call (a fixed seed, no augmentation)."""
    rng = np.random.default_rng(4242)
    batches = []
    if len(corpus.pairs("val")) < batch_size:
        return batches
    for b in iterate_batches(corpus, "val", batch_size, rng, augment=False, drop_last=True):
        batches.append(b)
        if len(batches) >= n_batches:
            break
    return batches
