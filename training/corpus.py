"""BarCorpus: the prepared bars of many tunes, and the one format data preparation hands to
training, sampling and evaluation.

- bars:  uint8 [B, 88, S], S = 16 sixteenth steps (4/4) or 12 (triple), velocity 0..127 per cell (roll * 127, rounded): 1/4 of float32 size.
- tune:  int32 [B], the tune each bar belongs to; a tune's bars are contiguous and in order.
- split: int8 [n_tunes], 0 train, 1 validation, 2 test (by tune, deterministic, recorded).
- names: n_tunes strings naming each tune ("collection/file#index" or a .mid path).
- summary: JSON-able dict: sources, counts, files that failed to parse, settings, cache key.

Pairs of consecutive bars exist only within one tune.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srlive.contract import METERS, N_PITCHES

SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass
class BarCorpus:
    bars: np.ndarray
    tune: np.ndarray
    split: np.ndarray
    names: list[str]
    summary: dict = field(default_factory=dict)

    def __post_init__(self):
        self.bars = np.asarray(self.bars, dtype=np.uint8)
        self.tune = np.asarray(self.tune, dtype=np.int32)
        self.split = np.asarray(self.split, dtype=np.int8)
        widths = sorted({m.steps for m in METERS.values()})
        if self.bars.ndim != 3 or self.bars.shape[1] != N_PITCHES or self.bars.shape[2] not in widths:
            raise ValueError(f"bars must be [B, 88, S] with S in {widths}, got {self.bars.shape}")
        if len(self.tune) != len(self.bars):
            raise ValueError("tune must give one tune id per bar")
        if len(self.tune) and np.any(np.diff(self.tune) < 0):
            raise ValueError("bars must be grouped by tune, in order")

    @property
    def steps(self) -> int:
        """The bar's width in sixteenth steps (16: 4/4, 12: triple)."""
        return int(self.bars.shape[2])

    def require_width(self, steps: int, model: str, fix: str, where: str = "") -> None:
        """UserError (one line, after ``where``) unless the corpus's bars are ``steps`` wide, as
        ``model`` makes them: the one check every tool that puts a model and a corpus together makes."""
        if self.steps != steps:
            from srlive.errors import UserError

            raise UserError(f"{where + ': ' if where else ''}{model} answers bars of {steps} steps, the corpus holds "
                            f"bars of {self.steps} steps; {fix}")

    @property
    def n_tunes(self) -> int:
        return len(self.names)

    def tune_ids(self, split: str) -> np.ndarray:
        return np.nonzero(self.split == SPLITS[split])[0]

    def pairs(self, split: str) -> np.ndarray:
        """Indices i such that (bars[i], bars[i+1]) are consecutive bars of one tune in `split`."""
        if len(self.bars) < 2:
            return np.zeros(0, dtype=np.int64)
        same = self.tune[:-1] == self.tune[1:]
        in_split = self.split[self.tune[:-1]] == SPLITS[split]
        return np.nonzero(same & in_split)[0].astype(np.int64)

    def tunes(self, split: str) -> list[np.ndarray]:
        """Per tune of `split`, the indices of its bars, in order."""
        starts = np.searchsorted(self.tune, np.arange(self.n_tunes), side="left")
        ends = np.searchsorted(self.tune, np.arange(self.n_tunes), side="right")
        return [np.arange(starts[t], ends[t]) for t in self.tune_ids(split) if ends[t] > starts[t]]

    def rolls(self, index) -> np.ndarray:
        """float32 rolls in [0, 1] for the given bar indices: [..., 88, S]."""
        return self.bars[index].astype(np.float32) / 127.0

    # --- storage: one compressed .npz plus a readable JSON summary beside it
    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp, bars=self.bars, tune=self.tune, split=self.split, names=np.array(self.names, dtype=object),
            summary=np.array(json.dumps(self.summary)),
        )
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(json.dumps(self.summary, indent=2, sort_keys=True))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BarCorpus":
        with np.load(path, allow_pickle=True) as z:
            return cls(
                bars=z["bars"], tune=z["tune"], split=z["split"], names=[str(n) for n in z["names"]],
                summary=json.loads(str(z["summary"])),
            )
