"""Training batches for the step decoder: each bar t of a tune (t >= 1) with the phrase heard
before it, the bars t-1, t-2, t-4, t-8 of the same tune (PhraseConfig.history; silence before the
tune begins, as srlive hears silence before the performer has played), transposed together at
random (srlive_training.batches.augment_transpose), and the bar's melody events
(srlive_training.events).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srlive_training.batches import augment_transpose
from srlive_training.corpus import SPLITS, BarCorpus
from srlive_training.events import events_of, last_pitch_before, roll_of_events


@dataclass
class PhraseBatch:
    history: np.ndarray  # [N, C, 88, S] float32
    target: np.ndarray  # [N, 88, S] float32, the bar's melody (1 where it sounds)
    events: np.ndarray  # [N, S] int64
    last_pitch: np.ndarray  # [N, S] int64 (-1: no note yet in the bar)


def phrase_index(corpus: BarCorpus, split: str, history: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(targets [M], sources [M, C]): every bar of `split` with a bar before it in its tune, and the
    index of the bar `k` back for each offset k of `history` (-1 where the tune had not begun)."""
    tune = corpus.tune
    in_split = corpus.split[tune] == SPLITS[split]
    idx = np.arange(len(tune))
    targets = idx[1:][(tune[1:] == tune[:-1]) & in_split[1:]]
    sources = np.full((len(targets), len(history)), -1, np.int64)
    for j, k in enumerate(history):
        back = targets - k
        ok = back >= 0
        ok[ok] &= tune[back[ok]] == tune[targets[ok]]
        sources[ok, j] = back[ok]
    return targets, sources


def make_batch(corpus: BarCorpus, targets: np.ndarray, sources: np.ndarray, rng: np.random.Generator | None,
               augment: bool = True) -> PhraseBatch:
    """The batch of these bars (augment: one random transposition in [-5, 6) semitones per item)."""
    bars = corpus.bars
    hist = np.where((sources >= 0)[..., None, None], bars[np.maximum(sources, 0)], 0).astype(np.float32) / 127.0
    target = bars[targets].astype(np.float32)[:, None] / 127.0
    if augment:
        target, hist = augment_transpose(target, hist, rng)
    events = events_of(target[:, 0])
    return PhraseBatch(history=np.ascontiguousarray(hist), target=roll_of_events(events), events=events,
                       last_pitch=last_pitch_before(events))


class PhraseStream:
    """Endless shuffled batches of one split, epoch after epoch; `position` resumes it."""

    def __init__(self, corpus: BarCorpus, split: str, history: tuple[int, ...], batch_size: int, seed: int):
        self.corpus, self.batch_size, self.seed = corpus, int(batch_size), int(seed)
        self.targets, self.sources = phrase_index(corpus, split, history)
        if len(self.targets) < self.batch_size:
            from srlive.errors import UserError

            raise UserError(f"the corpus's {split} split has {len(self.targets)} bars with a bar before them, "
                            f"fewer than one batch of {self.batch_size}; prepare more tunes or lower --batch-size")
        self.epoch, self.offset = 0, 0
        self._order = None

    @property
    def position(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset}

    def restore(self, position: dict) -> None:
        self.epoch, self.offset = int(position.get("epoch", 0)), int(position.get("offset", 0))
        self._order = None

    def _epoch_order(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.targets))

    def next(self) -> PhraseBatch:
        if self._order is None:
            self._order = self._epoch_order()
        if self.offset + self.batch_size > len(self._order):
            self.epoch, self.offset = self.epoch + 1, 0
            self._order = self._epoch_order()
        pick = self._order[self.offset : self.offset + self.batch_size]
        self.offset += self.batch_size
        rng = np.random.default_rng([self.seed, self.epoch, self.offset])
        return make_batch(self.corpus, self.targets[pick], self.sources[pick], rng)


def fixed_batches(corpus: BarCorpus, split: str, history: tuple[int, ...], n: int, seed: int = 0) -> list[PhraseBatch]:
    """The same validation batches every time (no transposition), about `n` bars in batches of 256."""
    targets, sources = phrase_index(corpus, split, history)
    pick = np.sort(np.random.default_rng(seed).permutation(len(targets))[:n])
    return [make_batch(corpus, targets[pick[i : i + 256]], sources[pick[i : i + 256]], None, augment=False)
            for i in range(0, len(pick), 256)]
