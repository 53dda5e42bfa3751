"""A tiny hand-made BarCorpus for the sampling and evaluation tests: every tune is a melody of
one note a beat (four a 4/4 bar, three a triple bar of 12 steps) drawn from one major scale, in a
key of its own."""

import numpy as np

from srlive.roll import notes_to_roll
from srlive_training.corpus import BarCorpus

MAJOR = (0, 2, 4, 5, 7, 9, 11)


def tiny_corpus(n_tunes: int = 16, bars: int = 8, seed: int = 0, steps: int = 16) -> BarCorpus:
    rng = np.random.default_rng(seed)
    rolls, tune = [], []
    for t in range(n_tunes):
        root = int(rng.integers(0, 12))
        for _ in range(bars):
            notes = [(60 + root + MAJOR[rng.integers(0, 7)], 4 * k, 4 * k + int(rng.integers(1, 5)), 90)
                     for k in range(steps // 4)]
            rolls.append(np.rint(notes_to_roll(notes, steps) * 127))
            tune.append(t)
    n_test = max(3, n_tunes // 4)
    split = np.array([0] * (n_tunes - n_test - 1) + [1] + [2] * n_test)
    return BarCorpus(np.array(rolls, np.uint8), np.array(tune), split, [f"tune{i}" for i in range(n_tunes)],
                     {"source": "tests"})


def random_checkpoint(path, seed: int = 0):
    """A random-init `live` model saved as a training checkpoint."""
    import torch

    from srlive_training.config import LIVE
    from srlive_training.checkpoint import save_checkpoint
    from srlive_training.model import VAEGAN

    torch.manual_seed(seed)
    save_checkpoint(path, VAEGAN(LIVE))
    return path
