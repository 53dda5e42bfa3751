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
from srlive.roll import N_PITCHES, memory_of
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


def augment_transpose(prev: np.ndarray, nxt: np.ndarray, rng: np.random.Generator, low: int = -5, high: int = 6,
                      *more: np.ndarray):
    """Shift each pair (prev[i], nxt[i]) — and the i-th bar of every array in `more` with them —
    by one random interval in [low, high) semitones.

    Works on [N, 88, 16] or [N, C, 88, 16] (C may differ between the arrays); rows pushed off the keyboard fold back by an octave
    (as srlive.roll.transpose_roll). Returns new arrays (prev, nxt, *more) of the same shape and
    dtype. The random draws are the same whatever `more` holds.
    """
    if not -MAX_SHIFT <= low < high <= MAX_SHIFT + 1:
        raise ValueError(f"shifts must lie within ±{MAX_SHIFT} semitones, got [{low}, {high})")
    arrays = [np.asarray(a) for a in (prev, nxt, *more)]
    ref = arrays[0].shape
    if any(a.ndim != len(ref) or a.shape[0] != ref[0] or a.shape[-2:] != ref[-2:] or (a.ndim == 3 and a.shape != ref)
           for a in arrays):
        raise ValueError(f"prev {ref} and the other bars {[a.shape for a in arrays[1:]]} differ")
    ks = rng.integers(low, high, size=len(arrays[0]))
    if arrays[0].ndim == 3:
        moved = _shift(np.stack(arrays, axis=1), ks)
        return tuple(np.ascontiguousarray(moved[:, j]) for j in range(len(arrays)))
    # [N, C, 88, W]: the channels of every array (a bar heard with its context) move together
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
    with_after: bool = False,
    context: int = 1,
    ahead: int = 1,
    memory: int = 0,
    memory_kind: str = "bars",
) -> Iterator[tuple[np.ndarray, ...]]:
    """One epoch of (prev, next) float32 batches [N, 1, 88, 16] in [0, 1], shuffled by rng.

    context 2 (ModelConfig.context): prev is [N, 2, 88, 16], the bar heard and, as the second
    channel, the bar before it in its tune (silence where the bar heard is the tune's first, as
    before a performer's first bar); both are transposed with the pair. With memory M > 0
    (ModelConfig.memory) the second channel is instead the mean of the bar heard and the M - 1
    before it in its tune (srlive.roll.memory_of): the performer's last M bars; with memory_kind
    "rhythm", where their notes start, which no transposition moves.

    with_after: (prev, next, after, has_after) instead, where after is the bar that follows next
    in its tune (zeros where next is the tune's last bar) and has_after [N] bool says which rows
    have one — what training on the model's own answers needs (TrainConfig.own_prev_share). The
    random draws, and so prev and next, are the same either way. With ahead = K > 1 (chains of the
    model's own answers, TrainConfig.own_prev_steps), after is [N, K, 88, 16], the K bars after
    next, and has_after [N, K] says which of them the tune has.

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
        prev = context_rolls(corpus, idx, context, memory, memory_kind)
        nxt = corpus.rolls(idx + 1)[:, None]
        after, has_after = rolls_in_tune(corpus, idx, 2 + np.arange(ahead)) if with_after else (None, None)
        if augment:
            heard = prev
            prev, nxt, *moved = augment_transpose(prev, nxt, aug_rng, -5, 6, *([after] if with_after else []))
            after = moved[0] if with_after else None
            if memory and memory_kind == "rhythm":
                prev[:, 1] = heard[:, 1]  # the same in every key (a shift would empty its lowest rows)
        if with_after:
            yield prev, nxt, after, has_after[:, 0] if ahead == 1 else has_after
        else:
            yield prev, nxt


def rolls_in_tune(corpus: BarCorpus, idx: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bars `offsets` away from each bar idx, in its own tune: (rolls [N, K, 88, W], silence
    where the tune has no such bar; present [N, K] bool)."""
    idx = np.asarray(idx)
    want = idx[:, None] + np.asarray(offsets)[None, :]
    at = np.clip(want, 0, len(corpus.tune) - 1)
    present = (want == at) & (corpus.tune[at] == corpus.tune[idx][:, None])
    return corpus.rolls(at) * present[:, :, None, None], present


def context_rolls(corpus: BarCorpus, idx: np.ndarray, context: int = 1, memory: int = 0,
                  memory_kind: str = "bars") -> np.ndarray:
    """Bars idx as the encoder hears them: [N, context, 88, W], the bar itself first, then the bars
    before it in its tune (silence before a tune's first bar), or with memory M > 0 the mean of the
    bar and the M - 1 before it in its tune (what the performer played last; srlive.roll.memory_of
    with memory_kind)."""
    if not memory:
        return rolls_in_tune(corpus, idx, -np.arange(context))[0]
    bars, present = rolls_in_tune(corpus, idx, -np.arange(memory))
    return np.stack([bars[:, 0], memory_of(bars, present, memory_kind)], axis=1)


class BatchStream:
    """Endless train batches from iterate_batches, one epoch after another, with a
    resumable position: the data rng's state at the start of the epoch plus the number of batches
    already taken from it (restoring replays the epoch's first batches to reach the same state)."""

    def __init__(self, corpus: BarCorpus, batch_size: int, seed: int, augment: bool, rank: int = 0, world_size: int = 1,
                 with_after: bool = False, context: int = 1, ahead: int = 1, memory: int = 0,
                 memory_kind: str = "bars"):
        self.corpus, self.batch_size, self.augment, self.with_after = corpus, batch_size, augment, with_after
        self.context, self.ahead, self.memory, self.memory_kind = context, ahead, memory, memory_kind
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
                                        rank=self.rank, world_size=self.world_size, drop_last=True,
                                        with_after=self.with_after, context=self.context, ahead=self.ahead,
                                        memory=self.memory, memory_kind=self.memory_kind))

    def next(self) -> tuple[np.ndarray, ...]:
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


def fixed_val_batches(corpus: BarCorpus, batch_size: int, n_batches: int, context: int = 1, memory: int = 0,
                      memory_kind: str = "bars") -> list:
    """Up to n_batches validation batches, the same on every call (a fixed seed, no augmentation)."""
    rng = np.random.default_rng(4242)
    batches = []
    if len(corpus.pairs("val")) < batch_size:
        return batches
    for b in iterate_batches(corpus, "val", batch_size, rng, augment=False, drop_last=True, context=context,
                               memory=memory, memory_kind=memory_kind):
        batches.append(b)
        if len(batches) >= n_batches:
            break
    return batches
